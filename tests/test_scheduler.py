"""The scheduler keeps every camera's schedule while others hang, and never runs two checks of one camera."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from pathlib import Path

from sqlalchemy import select

from camwatch import config as cfgmod
from camwatch.scheduler import Monitor
from camwatch.sim.fleet import Fleet
from camwatch.store import repo
from camwatch.store.schema import checks
from tests.conftest import PASSWORD


def make(tmp: Path, fleet: Fleet, n_hang: int, interval: float = 3) -> tuple[cfgmod.Config, Monitor]:
    cams = "".join(f'[[cameras]]\nid = "H{i}"\nname = "treo {i}"\ncommune = "c"\n'
                   f'rtsp_url = "rtsp://127.0.0.1:{fleet.hang_port}/h{i}"\n' for i in range(n_hang))
    cams += "".join(f'[[cameras]]\nid = "OK{i}"\nname = "tốt {i}"\ncommune = "c"\nrtsp_url = "{fleet.url("static")}"\n'
                    for i in range(2))
    (tmp / "cameras.toml").write_text(f"""[district]\nstate_dir = "{tmp / 'state'}"\n[metrics]\nenabled = false
[defaults]\nuser = "admin"\npassword = "{PASSWORD}"\ninterval_s = {interval}\ndeadline_s = 8\nconnect_timeout_s = 6
concurrency = {n_hang + 2}\n[[communes]]\nid = "c"\nname = "Xã"\n{cams}""", encoding="utf-8")
    config = cfgmod.load(tmp / "cameras.toml")
    repo.upgrade(config.database_url)
    return config, Monitor(config, repo.make_engine(config.database_url))


def test_hanging_cameras_do_not_delay_the_others(fleet: Fleet, tmp_path: Path) -> None:
    _, monitor = make(tmp_path, fleet, n_hang=6)
    monitor.start()
    try:
        time.sleep(16)
    finally:
        t0 = time.monotonic()
        monitor.stop()
        stop_s = time.monotonic() - t0
    with monitor.engine.connect() as conn:
        rows = list(conn.execute(select(checks.c.camera_id, checks.c.started_at, checks.c.verdict)))
    for cam in ("OK0", "OK1"):
        times = sorted(r.started_at for r in rows if r.camera_id == cam)
        assert len(times) >= 4, f"{cam} checked {len(times)} times in 16 s at a 3 s interval"
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert max(gaps) < 3 + 1.0, gaps  # on schedule although six cameras hang for 6 s each time
    assert {r.verdict for r in rows if r.camera_id.startswith("H")} == {"timeout"}
    assert stop_s < 10  # SIGTERM path: running checks reach their deadline, then it stops
    monitor.engine.dispose()


def test_never_two_checks_of_one_camera_at_once(fleet: Fleet, tmp_path: Path) -> None:
    config, monitor = make(tmp_path, fleet, n_hang=1)
    with monitor.engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": c.id, "commune": "c", "name": c.cfg.name} for c in config.cameras.values()],
                          dt.datetime.now(dt.UTC))
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(monitor.check_one("H0")))
    first.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert monitor.check_one("H0") is None  # refused at once while the first is running
    assert time.monotonic() - t0 < 0.5
    first.join(15)
    assert results and results[0] is not None
    monitor.engine.dispose()
