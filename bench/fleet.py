"""The whole service at fleet scale: N simulated cameras checked every 60 s by `camwatch run`.

    .venv/bin/python bench/fleet.py --cameras 100 1000 2000 --intervals 3 [--size 1080p] [--scene sim]

For each N: N mounts on the simulator (2 s GOP, 5 % faulty: black/frozen, a few hanging), camwatch
run as a subprocess with the default concurrency, for a number of 60 s intervals. Printed: checks
completed per interval, scheduler lag (p50/p99 from the histogram's buckets, an upper bound), CPU of
the camwatch process (% of the machine's 2 cores) and per check, next to the decode floor measured in the
same run on the same streams (a bare "open, decode two keyframes, close" loop, a fresh decoder each time) and
their ratio, peak RSS (and per camera), and detection latency: a camera switched
to black, to its incident opening, and to the email arriving at a local SMTP sink. Then the same
fleet probed by the baselines people use (a sequential OpenCV script; a 16-thread pool of OpenCV
captures; one ffprobe per camera, 16 at a time) for the throughput ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from camwatch.sim.fleet import Fleet, free_port
from camwatch.sim.mailsink import MailSink
from camwatch.store import repo
from camwatch.store.schema import checks, incidents
from camwatch.urls import with_credentials

INTERVAL = 60


def proc_stat(pid: int) -> tuple[float, int]:
    """(CPU seconds used, peak RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu, memory_of(pid, "VmHWM")


def memory_of(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process from /proc (bytes): VmRSS now, VmHWM its peak."""
    return next(int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
                if ln.startswith(field + ":")) * 1024


def scrape(port: int) -> str:
    """The daemon's /metrics exposition."""
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()


def quantile_from_buckets(body: str, name: str, q: float, since: str = "") -> float | None:
    """The q-quantile (an upper bound: a bucket's edge) of a histogram, over what it counted after `since` (an
    earlier scrape of the same metrics), so that the start-up's backlog does not count in a steady window."""
    def counts(text: str) -> list[tuple[float, float]]:
        return [(float("inf") if le == "+Inf" else float(le), float(v))
                for le, v in re.findall(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)', text, re.M)]

    buckets = counts(body)
    before = dict(counts(since))
    buckets = [(le, v - before.get(le, 0.0)) for le, v in buckets]
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    return next(le for le, v in buckets if v >= q * total)


def photo_clip(clips: Path, size: str) -> str:
    """A realistic camera stream, encoded once: a real photograph with sensor noise, a vehicle and a ticking
    OSD clock, H.264 CRF 23, 10 fps, a keyframe every 2 s (640×360 keyframes weigh ~60–70 KB: what a real
    roadside scene costs to decode, unlike the simulator's cheap scenes). Returns its name for the fleet."""
    import av
    import cv2
    import numpy as np
    from skimage import data

    w, h = {"360p": (640, 360), "1080p": (1920, 1080)}[size]
    from camwatch.sim.scenes import live_cuts

    name = f"bench-photo-{size}"
    path = clips / f"{name}.mp4"
    if path.exists():
        live_cuts(path, 2.0, 30)
        return name
    clips.mkdir(parents=True, exist_ok=True)
    view = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (w, h), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(1)
    tmp_path = path.with_name(name + ".part.mp4")
    with av.open(str(tmp_path), "w") as out:
        st = out.add_stream("libx264", rate=10)
        st.pix_fmt, st.width, st.height = "yuv420p", w, h
        st.options = {"g": "20", "keyint_min": "20", "sc_threshold": "0", "bf": "0", "preset": "veryfast",
                      "crf": "23", "profile": "main"}
        for i in range(300):
            img = np.clip(view + rng.normal(0, 3.0, view.shape[:2])[..., None], 0, 255).astype(np.uint8)
            x = int(i * w / 60) % (w + 200) - 100
            cv2.rectangle(img, (x, int(h * 0.8)), (x + w // 8, int(h * 0.88)), (40, 40, 170), -1)
            cv2.putText(img, f"01-12-2026 14:{i // 600:02d}:{i // 10 % 60:02d}", (w // 64, h // 15),
                        cv2.FONT_HERSHEY_SIMPLEX, w / 1066, (255, 255, 255), max(1, w // 320), cv2.LINE_AA)
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    tmp_path.replace(path)
    live_cuts(path, 2.0, 30)  # each session starts where a live camera would be
    return name


FLOOR = """
import resource, sys, av
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
urls = sys.argv[1:]
av.open(urls[0], options={"rtsp_transport": "tcp"}, timeout=(5, 3)).close()  # libraries loaded, not counted
def one(url):
    with av.open(url, options={"rtsp_transport": "tcp", "timeout": "3000000", "analyzeduration": "200000",
                               "probesize": "65536", "allowed_media_types": "video"}, timeout=(5, 3)) as c:
        v = c.streams.video[0]
        v.codec_context.thread_count = 1
        keys = 0
        for pkt in c.demux(v):
            if pkt.is_keyframe and pkt.size:
                keys += sum(1 for _ in v.codec_context.decode(pkt))
                if keys >= 2:
                    break
from concurrent.futures import ThreadPoolExecutor
c0 = cpu()
with ThreadPoolExecutor(8) as pool:  # PyAV releases the GIL: eight sessions at once, as the daemon does
    list(pool.map(one, urls))
print((cpu() - c0) / len(urls))
"""


def decode_floor(urls: list[str]) -> float:
    """CPU seconds per "open, decode two keyframes, close" with a fresh decoder: the least a check can cost."""
    r = subprocess.run([sys.executable, "-c", FLOOR, *urls], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return float(r.stdout.strip())


def run_fleet(n: int, intervals: int, tmp: Path, scene: str = "sim", when_recent: int = 1,
              warmup: int = 1, concurrency: int = 64) -> dict[str, float | str]:
    n_bad = max(1, n * 5 // 100)
    healthy = ("day", "static", "night") if scene == "sim" else (scene,)
    mounts = {f"cam{i:04d}": ("black", "frozen")[i % 2] if i < n_bad else healthy[i % len(healthy)]
              for i in range(n)}
    mounts["probe"] = "day"  # the camera whose fault we switch on to time detection
    n_hang = max(1, n // 100)
    with Fleet(tmp / f"fleet{n}", mounts) as fleet, MailSink(tmp / f"mail{n}", smtp := free_port()) as sink:
        metrics_port = free_port()
        cams = "".join(f'[[cameras]]\nid = "{m}"\nname = "{m}"\ncommune = "c{i % 17}"\nrtsp_url = "{fleet.url(m)}"\n'
                       for i, m in enumerate(mounts))
        cams += "".join(f'[[cameras]]\nid = "hang{i}"\nname = "hang"\ncommune = "c0"\n'
                        f'rtsp_url = "rtsp://127.0.0.1:{fleet.hang_port}/h{i}"\n' for i in range(n_hang))
        communes = "".join(f'[[communes]]\nid = "c{i}"\nname = "Xã {i}"\ntechnicians = ["kt"]\n' for i in range(17))
        cfg = tmp / f"fleet{n}.toml"
        cfg.write_text(f"""[district]\nstate_dir = "{tmp / f'state{n}'}"\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"
[smtp]\nhost = "127.0.0.1"\nport = {smtp}\nsecurity = "none"\n[alerts]\ngroup_window_s = 0
[defaults]\nuser = "admin"\npassword_env = "BENCH_PASSWORD"\ninterval_s = {INTERVAL}\nconcurrency = {concurrency}
keyframes_when_recent = {when_recent}
[defaults.health]\nfailures_to_open = 3\n[[technicians]]\nid = "kt"\nname = "kt"\nemail = "kt@example.vn"
{communes}{cams}""", encoding="utf-8")
        env = {**os.environ, "BENCH_PASSWORD": fleet.password or ""}
        log = (tmp / f"camwatch{n}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(warmup * INTERVAL)  # start-up, first checks spread over the first interval; learning
            engine = repo.make_engine(f"sqlite:///{tmp / f'state{n}' / 'camwatch.db'}")
            cpu0, _ = proc_stat(proc.pid)
            t0 = time.time()
            body0 = scrape(metrics_port)
            cameras_per_interval = []
            per_interval = []
            window_lag, window_rss, since = [], [], body0  # each window's own lag p99 and RSS at its end
            switched_at = None
            opened_at = mailed_at = None
            for k in range(intervals):
                start = t0 + k * INTERVAL
                if k == 0:
                    fleet.set("probe", "black")
                    switched_at = time.time()
                while time.time() < start + INTERVAL:
                    time.sleep(1)
                    if switched_at and opened_at is None:
                        with engine.connect() as conn:
                            row = conn.execute(select(incidents.c.opened_at).where(incidents.c.camera_id == "probe")).first()
                        if row:
                            opened_at = time.time()
                    if opened_at and mailed_at is None and any("probe" in p.name for p in sink.folder.iterdir()):
                        mailed_at = time.time()
                now_body = scrape(metrics_port)
                window_lag.append(quantile_from_buckets(now_body, "camwatch_scheduler_lag_seconds", 0.99, since) or 0)
                window_rss.append(memory_of(proc.pid))
                since = now_body
            while time.time() < t0 + intervals * INTERVAL + 5:  # let the last window's checks be written
                time.sleep(1)
            with engine.connect() as conn:  # fixed, back-to-back windows from t0
                for k in range(intervals):
                    a, b = (dt.datetime.fromtimestamp(t0 + j * INTERVAL, dt.UTC) for j in (k, k + 1))
                    per_interval.append(conn.execute(select(func.count()).select_from(checks).where(
                        checks.c.started_at >= a, checks.c.started_at < b)).scalar())
                    cameras_per_interval.append(conn.execute(select(func.count(func.distinct(checks.c.camera_id))).where(
                        checks.c.started_at >= a, checks.c.started_at < b)).scalar())
            cpu1, rss = proc_stat(proc.pid)
            wall = time.time() - t0
            sample = [with_credentials(fleet.url(m), "admin", fleet.password) for m in list(mounts)[n_bad:n_bad + 40]]
            body = scrape(metrics_port)
            floor = decode_floor(sample)  # the same streams, the same server, while the daemon still runs
            engine.dispose()
        finally:
            proc.terminate()
            proc.wait(60)
            log.close()
            text = (tmp / f"camwatch{n}.log").read_text(errors="replace")
            problems = [ln for ln in text.splitlines() if ln.startswith(("ERROR", "WARNING")) and "late" not in ln
                        and "incident" not in ln]
            if problems:
                print(f"   camwatch logged {len(problems)} errors/warnings, e.g. {problems[0][:200]}", flush=True)
    total = len(mounts) + n_hang
    per_check = (cpu1 - cpu0) / max(1, sum(per_interval))
    return {
        "cameras": total, "checks/interval": "/".join(str(c) for c in per_interval),
        "cameras checked/interval": "/".join(str(c) for c in cameras_per_interval),
        "CPU ms/check": 1000 * per_check, "floor ms": 1000 * floor, "ratio to floor": per_check / floor,
        "lag p50 ≤ s": quantile_from_buckets(body, "camwatch_scheduler_lag_seconds", 0.5, body0) or 0,
        "lag p99 ≤ s": quantile_from_buckets(body, "camwatch_scheduler_lag_seconds", 0.99, body0) or 0,
        "lag p99 ≤ s per window": "/".join(f"{x:g}" for x in window_lag),
        "CPU % of 2 cores": 100 * (cpu1 - cpu0) / wall / 2, "peak RSS MB": rss / 2**20, "RSS KB/camera": rss / 1024 / total,
        "RSS MB at each window's end": "/".join(f"{x / 2**20:.0f}" for x in window_rss),
        "fault→incident s": (opened_at - switched_at) if opened_at and switched_at else float("nan"),
        "fault→email s": (mailed_at - switched_at) if mailed_at and switched_at else float("nan"),
    }


def baselines(n: int, tmp: Path) -> dict[str, float]:
    import cv2

    mounts = {f"cam{i:04d}": ("day", "static", "night")[i % 3] for i in range(n)}
    out = {}
    with Fleet(tmp / f"base{n}", mounts) as fleet:
        urls = [with_credentials(fleet.url(m), "admin", fleet.password) for m in mounts]

        def opencv(url: str) -> bool:
            cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
            ok = cap.read()[0]
            cap.release()
            return ok

        def ffprobe(url: str) -> bool:
            r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name",
                                url], capture_output=True, timeout=60)
            return r.returncode == 0

        sample = urls[: min(len(urls), 30)]
        t = time.time()
        for u in sample:
            opencv(u)
        out["OpenCV sequential checks/min"] = 60 * len(sample) / (time.time() - t)
        for name, fn in (("OpenCV 16 threads checks/min", opencv), ("ffprobe ×16 checks/min", ffprobe)):
            t = time.time()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(fn, urls))
            out[name] = 60 * len(urls) / (time.time() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, nargs="+", default=[100, 500, 1000])
    ap.add_argument("--intervals", type=int, default=3)
    ap.add_argument("--baseline-cameras", type=int, default=200,
                    help="fleet size for the baselines, measured once (0: skip them)")
    ap.add_argument("--scene", choices=("photo", "sim"), default="photo",
                    help="photo: a realistic noisy photograph (default); sim: the simulator's day/static/night")
    ap.add_argument("--size", choices=("360p", "1080p"), default="360p", help="the photo scene's resolution")
    ap.add_argument("--keyframes-when-recent", type=int, default=1, help="the daemon's keyframes_when_recent")
    ap.add_argument("--warmup", type=int, default=1,
                    help="intervals before measuring (a camera reads one keyframe once its change is learned: 5)")
    ap.add_argument("--concurrency", type=int, default=64, help="the daemon's concurrency (checks at once)")
    args = ap.parse_args()
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        b: dict[str, float] = {}
        if args.baseline_cameras:
            b = baselines(args.baseline_cameras, tmp)
            print(f"baselines, {args.baseline_cameras} simulated cameras: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in b.items()), flush=True)
        from camwatch.sim.fleet import clip_cache

        scene = photo_clip(clip_cache(), args.size) if args.scene == "photo" else "sim"
        for n in args.cameras:
            r = run_fleet(n, args.intervals, tmp, scene, args.keyframes_when_recent, args.warmup, args.concurrency)
            print(f"camwatch run, {n} cameras, scene {scene}: " + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()), flush=True)
            if b:  # checks per minute camwatch sustains (every camera every 60 s) against the baselines' capacity
                print(f"   {r['cameras']} checks/min sustained = "
                      f"{r['cameras'] / b['OpenCV sequential checks/min']:.0f}× the sequential OpenCV script's capacity, "
                      f"{r['cameras'] / b['ffprobe ×16 checks/min']:.1f}× 16 parallel ffprobes'", flush=True)


if __name__ == "__main__":
    main()
