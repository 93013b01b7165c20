"""The whole service at fleet scale: N simulated cameras checked every 60 s by `camwatch run`.

    .venv/bin/python bench/fleet.py --cameras 100 500 1000 --intervals 3

For each N: N mounts on the simulator (2 s GOP, 5 % faulty: black/frozen, a few hanging), camwatch
run as a subprocess with the default concurrency, for a number of 60 s intervals. Printed: checks
completed per interval, scheduler lag (p50/p99 from the histogram's buckets, an upper bound), CPU of
the camwatch process (% of the machine's 2 cores), peak RSS, and detection latency: a camera switched
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
    hwm = next(int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("VmHWM"))
    return cpu, hwm * 1024


def quantile_from_buckets(body: str, name: str, q: float) -> float | None:
    buckets = [(float("inf") if le == "+Inf" else float(le), float(v))
               for le, v in re.findall(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)', body, re.M)]
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    return next(le for le, v in buckets if v >= q * total)


def run_fleet(n: int, intervals: int, tmp: Path) -> dict[str, float | str]:
    n_bad = max(1, n * 5 // 100)
    mounts = {f"cam{i:04d}": ("black", "frozen")[i % 2] if i < n_bad else ("day", "static", "night")[i % 3]
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
[defaults]\nuser = "admin"\npassword_env = "BENCH_PASSWORD"\ninterval_s = {INTERVAL}\nconcurrency = 64
[defaults.health]\nfailures_to_open = 3\n[[technicians]]\nid = "kt"\nname = "kt"\nemail = "kt@example.vn"
{communes}{cams}""", encoding="utf-8")
        env = {**os.environ, "BENCH_PASSWORD": fleet.password or ""}
        log = (tmp / f"camwatch{n}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(INTERVAL)  # the first interval: start-up, first checks spread over it
            engine = repo.make_engine(f"sqlite:///{tmp / f'state{n}' / 'camwatch.db'}")
            cpu0, _ = proc_stat(proc.pid)
            t0 = time.time()
            per_interval = []
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
            while time.time() < t0 + intervals * INTERVAL + 5:  # let the last window's checks be written
                time.sleep(1)
            with engine.connect() as conn:  # fixed, back-to-back windows from t0
                for k in range(intervals):
                    a, b = (dt.datetime.fromtimestamp(t0 + j * INTERVAL, dt.UTC) for j in (k, k + 1))
                    per_interval.append(conn.execute(select(func.count()).select_from(checks).where(
                        checks.c.started_at >= a, checks.c.started_at < b)).scalar())
            cpu1, rss = proc_stat(proc.pid)
            wall = time.time() - t0
            body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
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
    return {
        "cameras": total, "checks/interval": "/".join(str(c) for c in per_interval),
        "lag p50 ≤ s": quantile_from_buckets(body, "camwatch_scheduler_lag_seconds", 0.5) or 0,
        "lag p99 ≤ s": quantile_from_buckets(body, "camwatch_scheduler_lag_seconds", 0.99) or 0,
        "CPU % of 2 cores": 100 * (cpu1 - cpu0) / wall / 2, "peak RSS MB": rss / 2**20,
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
    args = ap.parse_args()
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        b: dict[str, float] = {}
        if args.baseline_cameras:
            b = baselines(args.baseline_cameras, tmp)
            print(f"baselines, {args.baseline_cameras} simulated cameras: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in b.items()), flush=True)
        for n in args.cameras:
            r = run_fleet(n, args.intervals, tmp)
            print(f"camwatch run, {n} cameras: " + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()), flush=True)
            if b:  # checks per minute camwatch sustains (every camera every 60 s) against the baselines' capacity
                print(f"   {r['cameras']} checks/min sustained = "
                      f"{r['cameras'] / b['OpenCV sequential checks/min']:.0f}× the sequential OpenCV script's capacity, "
                      f"{r['cameras'] / b['ffprobe ×16 checks/min']:.1f}× 16 parallel ffprobes'", flush=True)


if __name__ == "__main__":
    main()
