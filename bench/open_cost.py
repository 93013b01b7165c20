"""What FFmpeg's open costs a check, with and without the decoder options the probe gives it.

    PYTHONPATH=. .venv/bin/python bench/open_cost.py [--size 360p|1080p] [--runs 20]

On the realistic scene of `bench/fleet.py` (a photograph with sensor noise, traffic and an OSD clock, served by
the simulator over real RTSP), CPU seconds of this process (getrusage) for: the open alone, and "open, decode
one (two) keyframes, close" — with FFmpeg's defaults for `avformat_find_stream_info` and with the probe's
`OPEN_DECODER` (no P-frame, no loop filter while it learns the stream's parameters). The two are run in turn,
on the same streams, so the ratio holds on a loaded machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import av

from camwatch.probe.rtsp import OPEN_DECODER, STREAM_PROBE
from camwatch.sim.fleet import Fleet, clip_cache

sys.path.insert(0, str(Path(__file__).parent))
from fleet import photo_clip  # the benchmark's own scene

OPTIONS = {"rtsp_transport": "tcp", "timeout": "3000000", **STREAM_PROBE}  # the probe's, but OPEN_DECODER


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def one(url: str, options: dict[str, str], keys: int) -> tuple[float, float]:
    """(CPU of the open, CPU of the whole check) in seconds."""
    c0 = cpu()
    with av.open(url, options=options, timeout=(5, 3)) as c:
        opened = cpu() - c0
        v = c.streams.video[0]
        v.codec_context.thread_count = 1
        v.codec_context.options = {"skip_loop_filter": "all"}  # as the probe decodes its keyframes
        got = 0
        for pkt in c.demux(v) if keys else ():
            if pkt.is_keyframe and pkt.size:
                got += sum(1 for _ in v.codec_context.decode(pkt))
                if got >= keys:
                    break
    return opened, cpu() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="360p", choices=["360p", "1080p"])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    name = photo_clip(clip_cache(), args.size)
    variants = {"FFmpeg's defaults": OPTIONS, "OPEN_DECODER": {**OPTIONS, **OPEN_DECODER}}
    with tempfile.TemporaryDirectory() as d, Fleet(Path(d), {f"c{i}": name for i in range(4)}, user=None,
                                                   password=None, hostile_ports=False) as fleet:
        urls = [fleet.url(f"c{i}") for i in range(4)]
        one(urls[0], OPTIONS, 1)  # libraries loaded, not counted
        print(f"{args.size}, {args.runs} runs each, CPU ms per session (open / whole session)")
        print(f"{'':18s} {'open only':>16s} {'open + 1 key':>16s} {'open + 2 keys':>16s}")
        rows: dict[str, list[tuple[float, float]]] = {}
        for label, options in variants.items():
            rows[label] = []
            for keys in (0, 1, 2):
                t0 = time.monotonic()
                runs = [one(urls[i % 4], options, keys) for i in range(args.runs)]
                rows[label].append((sum(r[0] for r in runs) / len(runs), sum(r[1] for r in runs) / len(runs)))
                if time.monotonic() - t0 > 600:
                    raise SystemExit("too slow: is the machine saturated?")
            print(f"{label:18s} " + " ".join(f"{1000 * o:7.1f} / {1000 * t:6.1f}" for o, t in rows[label]))
        base, new = rows["FFmpeg's defaults"], rows["OPEN_DECODER"]
        print(f"{'ratio':18s} " + " ".join(f"{n[1] / b[1]:16.2f}" for b, n in zip(base, new, strict=True)))


if __name__ == "__main__":
    main()
