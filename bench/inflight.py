"""Memory of a check in flight: N checks at once, each stopped after its first keyframe, RSS per check.

    PYTHONPATH=. .venv/bin/python bench/inflight.py [--checks 64] [--size 360p|1080p]

A check spends most of its time waiting (for the next keyframe, or reading P-frames to judge the encoder), so the
daemon's memory at fleet scale is its workers' in-flight state × the checks in flight (~100 at 2,000 cameras a
minute). Each variant runs in a process of its own against the same streams of `bench/fleet.py`'s realistic scene
(the simulator over real RTSP); every check blocks once it holds its first keyframe, and the process's RSS then,
less its RSS before (both after `malloc_trim`), is divided by N:

- `open`: FFmpeg's RTSP session alone (av.open with the probe's options): the floor of any check;
- `decoder kept`: the session, the stream's decoder kept open after decoding the keyframe (what the probe did
  until 2026-12-07), no picture;
- `probe`: camwatch's probe (`probe_rtsp`, stopped by its `enough` callback): a decoder of its own per keyframe,
  freed at once, and the keyframe as a 640-px BGR picture.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

VARIANTS = ("open", "decoder kept", "probe")


def rss_mb() -> float:
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:")) / 1024


def measure(variant: str, n: int, size: str) -> None:
    """In this process: N checks of `variant` held in flight; prints 'KB per check'."""
    import av

    from camwatch import memory
    from camwatch.config import CheckSettings
    from camwatch.probe import Target
    from camwatch.probe.rtsp import OPEN_DECODER, STREAM_PROBE, probe_rtsp
    from camwatch.sim.fleet import Fleet, clip_cache

    sys.path.insert(0, str(Path(__file__).parent))
    from fleet import photo_clip

    memory.tune()  # as the daemon does
    name = photo_clip(clip_cache(), size)
    settings = CheckSettings(deadline_s=30, connect_timeout_s=5)
    options = {"rtsp_transport": "tcp", "timeout": "5000000", **STREAM_PROBE, **OPEN_DECODER}
    held, release, holding = threading.Semaphore(0), threading.Event(), threading.Event()

    def hold() -> bool:
        if holding.is_set():  # not while warming up
            held.release()
            release.wait(120)
        return True

    def one(url: str) -> None:
        if variant == "probe":
            probe_rtsp(Target(url, None, None), settings, lambda keys, sizes: hold())
            return
        with av.open(url, options=options, timeout=(5, 3)) as c:
            v = c.streams.video[0]
            if variant == "open":
                hold()
                return
            v.codec_context.thread_count = 1
            for pkt in c.demux(v):
                if pkt.is_keyframe and pkt.size and list(v.codec_context.decode(pkt)):
                    hold()
                    return

    with tempfile.TemporaryDirectory() as d, Fleet(Path(d), {f"c{i}": name for i in range(n)}, user=None,
                                                   password=None, hostile_ports=False) as fleet:
        for _ in range(3):  # the libraries loaded and warm, not counted
            one(fleet.url("c0"))
        gc.collect()
        memory.trim()
        before = rss_mb()
        holding.set()
        threads = [threading.Thread(target=one, args=(fleet.url(f"c{i}"),)) for i in range(n)]
        for t in threads:
            t.start()
        got = sum(held.acquire(timeout=60) for _ in range(n))
        memory.trim()
        during = rss_mb()
        release.set()
        for t in threads:
            t.join(60)
    print(f"{(during - before) * 1024 / max(1, got):.0f} {got} {before:.0f} {during:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checks", type=int, default=64)
    ap.add_argument("--size", default="360p", choices=["360p", "1080p"])
    ap.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # one variant, in this process
    args = ap.parse_args()
    if args.variant:
        measure(args.variant, args.checks, args.size)
        return
    print(f"{args.size}, {args.checks} checks in flight at once, each after its first keyframe")
    print(f"{'':14s} {'KB per check':>13s} {'held':>5s} {'RSS MB before / during':>23s}")
    for variant in VARIANTS:
        r = subprocess.run([sys.executable, __file__, "--variant", variant, "--checks", str(args.checks), "--size",
                            args.size], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise SystemExit(r.stderr[-2000:])
        per, got, before, during = r.stdout.split()[-4:]
        print(f"{variant:14s} {per:>13s} {got:>5s} {before:>11s} / {during:<10s}")


if __name__ == "__main__":
    main()
