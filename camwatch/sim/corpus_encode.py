"""The corpus's clips: each case encoded once, as a camera's encoder would (x264 or x265, CRF/CBR/VBR, with
or without a temporal denoiser), and cached by corpus version."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from camwatch.sim.corpus import CORPUS_VERSION, SIZES, Case, frames


def _options(case: Case) -> tuple[dict[str, str], int | None]:
    if case.codec == "hevc":
        return _x265(case)
    opts = {"g": str(case.gop), "keyint_min": str(case.gop), "sc_threshold": "0", "bf": "0", "preset": "veryfast",
            "profile": "main", "threads": "1"}
    kbps = {"360p": 500, "1080p": 2500}[case.size]
    if case.rc == "crf":
        opts["crf"] = "26"
        return opts, None
    if case.rc == "cbr":
        opts.update({"maxrate": f"{kbps}k", "bufsize": f"{kbps}k", "nal-hrd": "cbr", "x264-params": "filler=1"})
    else:  # vbr: capped
        opts.update({"maxrate": f"{2 * kbps}k", "bufsize": f"{2 * kbps}k"})
    return opts, kbps * 1000


def _x265(case: Case) -> tuple[dict[str, str], int | None]:
    """H.265 as many cameras send it: x265's own rate control (CRF, or a strict CBR through its VBV)."""
    params = [f"keyint={case.gop}", f"min-keyint={case.gop}", "scenecut=0", "bframes=0", "open-gop=0", "pools=1",
              "frame-threads=1", "log-level=error"]
    opts = {"preset": "veryfast", "forced-idr": "1"}
    kbps = {"360p": 400, "1080p": 2000}[case.size]
    if case.rc == "crf":
        opts.update({"crf": "28", "x265-params": ":".join(params)})
        return opts, None
    cap = kbps if case.rc == "cbr" else 2 * kbps
    params += [f"vbv-maxrate={cap}", f"vbv-bufsize={cap}"] + (["strict-cbr=1"] if case.rc == "cbr" else [])
    opts["x265-params"] = ":".join(params)
    return opts, kbps * 1000


def encode(case: Case, path: Path) -> None:
    """The case's clip, one continuous encode; a keyframe forced at the start of every check's segment."""
    tmp = path.with_name(path.stem + ".part.mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = SIZES[case.size]
    with av.open(str(tmp), "w") as out:
        st = out.add_stream("libx265" if case.codec == "hevc" else "libx264",
                            rate=Fraction(case.fps).limit_denominator(1000))
        st.pix_fmt, st.width, st.height = "yuv420p", w, h
        opts, rate = _options(case)
        if rate:
            st.bit_rate = rate
        st.options = opts
        graph = _denoiser(w, h) if case.denoise else None
        pending: list[int] = []  # the check index of each frame in the denoiser
        n, last_k = 0, -1

        def put(frame: av.VideoFrame, k: int) -> None:
            nonlocal n, last_k
            frame.pts, frame.time_base = n, 1 / Fraction(case.fps).limit_denominator(1000)
            n += 1
            frame.pict_type = av.video.frame.PictureType.I if k != last_k else av.video.frame.PictureType.NONE
            last_k = k
            for pkt in st.encode(frame):
                out.mux(pkt)

        for k, img in frames(case):
            frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
            if graph is None:
                put(frame, k)
                continue
            frame.pts, frame.time_base = len(pending) + n, Fraction(1, 1000)
            pending.append(k)
            graph.push(frame)
            for f in _drain(graph):
                put(f, pending.pop(0))
        if graph is not None:
            graph.push(None)
            for f in _drain(graph):
                put(f, pending.pop(0))
        for pkt in st.encode():
            out.mux(pkt)
    tmp.replace(path)


def _denoiser(w: int, h: int) -> av.filter.Graph:
    """A temporal denoiser before the encoder, as many cameras have (FFmpeg's atadenoise: PyAV's FFmpeg is
    built without the GPL hqdn3d)."""
    graph = av.filter.Graph()
    src = graph.add_buffer(width=w, height=h, format="yuv420p", time_base=Fraction(1, 1000))
    dn = graph.add("atadenoise", "s=9")
    src.link_to(dn)
    dn.link_to(graph.add("buffersink"))
    graph.configure()
    return graph


def _drain(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.pull()
        except (BlockingIOError, av.error.EOFError):
            return


def ensure(case: Case, cache_dir: Path) -> Path:
    path = cache_dir / f"v{CORPUS_VERSION}" / f"{case.name}.mp4"
    if not path.exists():
        encode(case, path)
    return path
