"""Time to verdict and CPU per check: camwatch vs. what people use today, side by side in one run.

    .venv/bin/python bench/check_latency.py [--runs 5] [--joins 10] [--long-gop-checks 100]

Cameras (simulated, on loopback): healthy 640×360 and 1920×1080 (10 fps, 2 s GOP), one that accepts
TCP and never answers, a closed port, and one that answers 401. Baselines: `cv2.VideoCapture(url)`
+ `read()` with default options, and one `ffprobe` process per camera. camwatch's CPU is measured in
process (thread CPU time); the baselines' too (OpenCV in process, ffprobe as children's rusage).

Then mid-GOP joins, as a client meets a live camera: GOP 2/4/8/12 s, each session starting at a random
point of the GOP; time to verdict for a camera never seen (no profile) and with its learned profile; and
the false failures over N checks of a healthy 12 s-GOP camera joined mid-GOP (target 0).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from camwatch.config import CheckSettings, Thresholds, adhoc_camera
from camwatch.model import CheckResult
from camwatch.pipeline import run_check
from camwatch.profile import budget, learn
from camwatch.sim.fleet import Fleet, clip_cache, free_port
from camwatch.sim.scenes import ensure_clips
from camwatch.urls import split_credentials, with_credentials

HANG_CAP_S = 40.0


def camwatch_check(url: str) -> str:
    bare, user, password = split_credentials(url)
    return str(run_check(adhoc_camera("bench", rtsp_url=bare, user=user, password=password), None, Thresholds())
               .result.verdict)


def opencv_read(url: str) -> str:
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    try:
        ok, frame = cap.read()
        return "frame" if ok and frame is not None else "no frame"
    finally:
        cap.release()


def ffprobe(url: str) -> str:
    try:
        r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name",
                            "-of", "csv=p=0", url], capture_output=True, text=True, timeout=HANG_CAP_S)
    except subprocess.TimeoutExpired:
        return f"killed at {HANG_CAP_S:.0f} s"
    return r.stdout.strip() or (r.stderr.strip().splitlines() or ["error"])[-1][-40:]


def measure(fn: Callable[[str], str], url: str, runs: int) -> tuple[float, float, str]:
    walls, cpus, out = [], [], ""
    for _ in range(runs):
        c0 = time.thread_time() + _children_cpu()
        t0 = time.perf_counter()
        out = fn(url)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() + _children_cpu() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def decode_keyframes(path: Path, n: int = 2) -> float:
    """CPU seconds to decode the first `n` keyframes of a clip: the floor a check's CPU is compared with."""
    import av

    c0 = time.thread_time()
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        v.codec_context.thread_count = 1
        got = 0
        for p in c.demux(v):
            if p.is_keyframe and p.size:
                got += len(v.codec_context.decode(p))
            if got >= n:
                break
    return time.thread_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--joins", type=int, default=10, help="mid-GOP joins per GOP")
    ap.add_argument("--long-gop-checks", type=int, default=100)
    ap.add_argument("--only-joins", action="store_true")
    args = ap.parse_args()
    if args.only_joins:
        mid_gop(args.joins, args.long_gop_checks)
        return
    ensure_clips(clip_cache(), sizes=("1080p",), scenes=("day",))
    with tempfile.TemporaryDirectory() as tmp, Fleet(Path(tmp), {"day": "day", "day_1080p": "day_1080p"}) as fleet:
        targets = {
            "healthy 640×360": (with_credentials(fleet.url("day"), "admin", fleet.password), args.runs),
            "healthy 1920×1080": (with_credentials(fleet.url("day_1080p"), "admin", fleet.password), args.runs),
            "hung (accepts, never answers)": (f"rtsp://127.0.0.1:{fleet.hang_port}/x", 1),
            "closed port": (f"rtsp://127.0.0.1:{free_port()}/x", args.runs),
            "wrong password (401)": (with_credentials(fleet.url("day"), "admin", "wrong"), args.runs),
        }
        print(f"{'camera':<31} {'tool':<22} {'wall s':>8} {'CPU s':>7} {'wall ×':>7}  result")
        for name, (url, runs) in targets.items():
            rows = [("camwatch check", *measure(camwatch_check, url, runs)),
                    ("cv2.VideoCapture+read", *measure(opencv_read, url, runs)),
                    ("ffprobe", *measure(ffprobe, url, runs))]
            base = rows[0][1]
            for tool, wall, cpu, out in rows:
                ratio = wall / base if base > 0 else float("nan")
                print(f"{name:<31} {tool:<22} {wall:8.2f} {cpu:7.3f} {ratio:7.1f}  {out}")
            print()
        clips = clip_cache()
        for name, clip in (("640×360", clips / "day.mp4"), ("1920×1080", clips / "day_1080p.mp4")):
            floor = statistics.median(decode_keyframes(clip) for _ in range(5))
            print(f"decoding two keyframes alone ({name}): {1000 * floor:.1f} ms CPU")
        print("wall × = the tool's time to answer ÷ camwatch's (medians). camwatch's answer is a verdict on two")
        print("keyframes 2 s apart; OpenCV's is one decoded frame; ffprobe's is the stream's codec.")
    mid_gop(args.joins, args.long_gop_checks)


def mid_gop(joins: int, long_checks: int) -> None:
    gops = (2, 4, 8, 12)
    mounts = {f"gop{g}": f"day@gop{g}+join" for g in gops}
    with tempfile.TemporaryDirectory() as tmp, Fleet(Path(tmp), mounts, user=None, password=None,
                                                    hostile_ports=False) as fleet:
        print(f"\nmid-GOP joins ({joins} checks each; median / max seconds to the verdict)")
        print(f"{'GOP':>5} {'no profile':>16} {'learned':>16} {'keyframes':>10} {'deadline':>9}  not ok")
        for g in gops:
            url = fleet.url(f"gop{g}")
            cold = [adhoc(url) for _ in range(max(2, joins // 3))]
            profile = learn(None, next(r.stream for r in cold if r.ok))
            settings = budget(CheckSettings(), profile)
            warm = [adhoc(url, settings) for _ in range(joins)]
            bad = sum(not r.ok for r in cold + warm)
            print(f"{g:>4}s {_mm(cold):>16} {_mm(warm):>16} {settings.keyframes:>10} {settings.deadline_s:>8.1f}s  {bad}")
        url = fleet.url("gop12")
        profile = learn(None, adhoc(url).stream)
        settings = budget(CheckSettings(), profile)
        with ThreadPoolExecutor(8) as pool:  # eight at a time, as the daemon's pool would
            results = list(pool.map(lambda _: adhoc(url, settings), range(long_checks)))
        failures = [r for r in results if not r.ok]
        print(f"\nhealthy 12 s-GOP camera joined mid-GOP: {len(failures)} false failure(s) in {len(results)} checks; "
              f"time to verdict median {statistics.median(r.duration_s for r in results):.1f} s, "
              f"max {max(r.duration_s for r in results):.1f} s (deadline {settings.deadline_s:.1f} s)")
        for r in failures[:5]:
            print(f"  {r.verdict}: {r.reason}")


def adhoc(url: str, settings: CheckSettings | None = None) -> CheckResult:
    bare, user, password = split_credentials(url)
    cam = adhoc_camera("bench", rtsp_url=bare, user=user, password=password, check=settings or CheckSettings())
    return run_check(cam, None, Thresholds(), settings=settings).result


def _mm(results: list[CheckResult]) -> str:
    d = [r.duration_s for r in results]
    return f"{statistics.median(d):5.1f} / {max(d):5.1f}"


if __name__ == "__main__":
    main()
