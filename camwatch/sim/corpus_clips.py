"""The corpus over real RTSP: one clip per check of a case, for the simulator to stream (`Fleet.set`)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from camwatch.sim.corpus import Case
from camwatch.sim.corpus_encode import ensure


def write_check_clips(case: Case, clips: Path, prefix: str) -> list[str]:
    """One clip per check (`<prefix>-<k>.mp4`) in the simulator's clip folder: a new RTSP session streams the
    scene of that check (its segment three times over, so that a session finds two keyframes). Returns the
    clip names, for `Fleet.set`."""
    src = ensure(case, clips / "corpus")
    per = case.segment
    names = []
    with av.open(str(src)) as inp:
        ist = inp.streams.video[0]
        packets = [(bytes(p), p.is_keyframe) for p in inp.demux(ist) if p.size]
        for k in range(case.total):
            name = f"{prefix}-{k}"
            names.append(name)
            dst = clips / f"{name}.mp4"
            if dst.exists():
                continue
            tmp = dst.with_name(dst.stem + ".part.mp4")
            with av.open(str(tmp), "w") as out:
                ost = out.add_stream_from_template(ist)
                seg = packets[k * per:(k + 1) * per]
                n = 0
                for _ in range(3):
                    for data, key in seg:
                        pkt = av.Packet(data)
                        pkt.pts = pkt.dts = n
                        pkt.time_base = 1 / Fraction(case.fps).limit_denominator(1000)
                        pkt.is_keyframe = key
                        pkt.stream = ost
                        out.mux(pkt)
                        n += 1
            tmp.replace(dst)
    return names
