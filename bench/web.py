"""The web pages at 1,000 cameras: how long each page takes, on the real listener and in headless Chromium.

    PYTHONPATH=. .venv/bin/python bench/web.py [--cameras 1000] [--days 30] [--interval 600] [--runs 20]

Builds a scratch SQLite database (1,000 cameras in 17 communes, `--days` of checks every `--interval` seconds,
an incident a day on one camera in ten, a picture per camera), then measures:
- the availability figures' refresh: cold (every day of every camera) and warm (today only, as every 5 minutes);
- each page through `metrics.serve` with the dispatcher (median and 95th percentile of `--runs` requests);
- the overview and the camera wall in Chromium: navigation to `load` (the wall's pictures load lazily).
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry, make_wsgi_app
from sqlalchemy import insert

from camwatch import config as cfgmod
from camwatch.metrics import Metrics, serve
from camwatch.sim.fleet import free_port
from camwatch.store import repo
from camwatch.store.schema import checks, incidents
from camwatch.web import sample
from camwatch.web.app import make_app
from camwatch.web.dispatch import site

COMMUNES = 17


def build(root: Path, n: int, days: int, interval: int) -> cfgmod.Config:
    state = root / "state"
    cams = [(f"C{i:04d}", f"xa-{i % COMMUNES:02d}") for i in range(n)]
    text = [f'[district]\nname = "Bench"\nstate_dir = "{state}"\n', f'[defaults]\ninterval_s = {interval}\n']
    text += [f'[[communes]]\nid = "xa-{k:02d}"\nname = "Xã {k:02d}"\n' for k in range(COMMUNES)]
    text += [f'[[cameras]]\nid = "{c}"\nname = "Camera {c}"\ncommune = "{m}"\nrtsp_url = "rtsp://127.0.0.1/{c}"\n'
             for c, m in cams]
    (root / "cameras.toml").write_text("\n".join(text), encoding="utf-8")
    config = cfgmod.load(root / "cameras.toml", secrets=False)
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=days)
    jpeg = sample.pictures("C0000")["ok"]
    with engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": c, "commune": m, "name": f"Camera {c}"} for c, m in cams], start)
        for k, (c, _m) in enumerate(cams):
            rows, t = [], start
            while t < now:
                rows.append({"camera_id": c, "started_at": t, "interval_s": interval, "duration_s": 2.1, "verdict": "ok",
                             "status": "ok", "reason": ""})
                t += dt.timedelta(seconds=interval)
            conn.execute(insert(checks), rows)
            if k % 10 == 0:
                conn.execute(insert(incidents), [
                    {"camera_id": c, "kind": "offline", "severity": "down", "started_at": start + dt.timedelta(days=d, hours=3),
                     "opened_at": start + dt.timedelta(days=d, hours=3, minutes=3),
                     "closed_at": start + dt.timedelta(days=d, hours=4), "last_seen_at": start + dt.timedelta(days=d, hours=4),
                     "reason": "offline"} for d in range(days)])
            pic = state / "snapshots" / c / "latest.jpg"
            pic.parent.mkdir(parents=True, exist_ok=True)
            pic.write_bytes(jpeg)
    engine.dispose()
    return config


def timed(url: str, runs: int) -> tuple[float, float, int]:
    took = []
    size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - our own listener
            size = len(r.read())
        took.append(time.perf_counter() - t0)
    took.sort()
    return statistics.median(took), took[max(0, int(0.95 * len(took)) - 1)], size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--interval", type=int, default=600)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", type=Path, help="build the data here once and reuse it (default: a scratch folder)")
    a = ap.parse_args()
    root = a.keep or Path(tempfile.mkdtemp(prefix="cw-web-bench-"))
    try:
        t0 = time.perf_counter()
        if a.keep and (a.keep / "cameras.toml").exists():
            config = cfgmod.load(a.keep / "cameras.toml", secrets=False)
        else:
            root.mkdir(parents=True, exist_ok=True)
            config = build(root, a.cameras, a.days, a.interval)
        rows = a.cameras * a.days * 86400 // a.interval
        print(f"{a.cameras} cameras, {COMMUNES} communes, {a.days} days of checks every {a.interval} s "
              f"({rows:,} checks) ready in {time.perf_counter() - t0:.1f} s", flush=True)
        engine = repo.make_engine(config.database_url)
        web = make_app(config, engine)
        t0 = time.perf_counter()
        web.availability.refresh()
        print(f"availability refresh, cold (every day of every camera): {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        web.availability.refresh()
        print(f"availability refresh, warm (today and the days not final): {time.perf_counter() - t0:.2f} s")
        metrics = Metrics(CollectorRegistry())
        port = free_port()
        httpd, _ = serve(metrics.registry, "127.0.0.1", port, app=site(make_wsgi_app(metrics.registry), web))
        base = f"http://127.0.0.1:{port}"
        print(f"\n{'page':<28} {'median ms':>10} {'p95 ms':>8} {'bytes':>9}")
        mid = f"C{a.cameras // 2:04d}"
        for path in ("/", "/wall", "/wall?commune=xa-03", f"/camera/{mid}", "/api/state", f"/api/state?camera={mid}",
                     f"/picture/{mid}/latest.jpg", "/metrics"):
            med, p95, size = timed(base + path, a.runs)
            print(f"{path:<28} {1000 * med:>10.1f} {1000 * p95:>8.1f} {size:>9,}", flush=True)
        browser_figures(base, a.runs, mid)
        httpd.shutdown()
        httpd.server_close()
        engine.dispose()
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)


def browser_figures(base: str, runs: int, camera: str) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("\n(playwright not installed: no browser figures)")
        return
    from tests.web_helpers import launch  # the tests' Chromium flags

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        print(f"\n{'in Chromium':<28} {'DOMContentLoaded ms':>20} {'load ms':>8}")
        for path in ("/", "/wall", f"/camera/{camera}"):
            dcl, load = [], []
            for _ in range(max(3, runs // 4)):
                page.goto(base + path, wait_until="load")
                nav = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                                    " return [n.domContentLoadedEventEnd, n.loadEventEnd]; }")
                dcl.append(nav[0])
                load.append(nav[1])
            print(f"{path:<28} {statistics.median(dcl):>20.0f} {statistics.median(load):>8.0f}")
        browser.close()


if __name__ == "__main__":
    main()
