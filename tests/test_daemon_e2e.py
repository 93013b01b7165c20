"""`camwatch run` as a real subprocess against the real RTSP simulator: incidents open and close at the
right check counts, survive kill -9, and `camwatch status` shows them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from camwatch.sim.fleet import Fleet, free_port
from camwatch.store import repo
from camwatch.store.schema import checks
from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow


def write_config(tmp: Path, fleet: Fleet, closed_port: int) -> Path:
    cfg = tmp / "cameras.toml"
    cfg.write_text(f"""
[district]
name = "Thử nghiệm"
state_dir = "{tmp / 'state'}"

[metrics]
listen = "127.0.0.1:{free_port()}"

[defaults]
user = "admin"
password_env = "E2E_CAM_PASSWORD"
interval_s = 3
deadline_s = 6
connect_timeout_s = 2

[defaults.health]
failures_to_open = 2
degraded_failures_to_open = 2
successes_to_close = 2

[[communes]]
id = "yen-dinh"
name = "Yên Định"

[[cameras]]
id = "E1"
name = "Ngã ba chợ"
commune = "yen-dinh"
rtsp_url = "{fleet.url('daemon1')}"

[[cameras]]
id = "E2"
name = "Cầu Yên Định"
commune = "yen-dinh"
rtsp_url = "rtsp://127.0.0.1:{closed_port}/E2"
""", encoding="utf-8")
    return cfg


def start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "E2E_CAM_PASSWORD": PASSWORD}
    return subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg)], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_daemon_opens_and_closes_incidents_and_survives_kill_9(fleet: Fleet, tmp_path: Path, closed_port: int) -> None:
    fleet.set("daemon1", "day")
    cfg = write_config(tmp_path, fleet, closed_port)
    url = f"sqlite:///{tmp_path / 'state' / 'camwatch.db'}"
    log = tmp_path / "camwatch.log"
    proc = start(cfg, log)
    engine = None
    try:
        wait_for(lambda: (tmp_path / "state" / "camwatch.db").exists(), 30, "the database")
        engine = repo.make_engine(url)

        def status(cam: str) -> str | None:
            try:
                with engine.connect() as conn:
                    return next((r.status for r in repo.camera_rows(conn) if r.id == cam), None)
            except OperationalError:  # the daemon is still creating or migrating the database
                return None

        def incidents(cam: str) -> list:
            try:
                with engine.connect() as conn:
                    return repo.incident_rows(conn, camera_id=cam)
            except OperationalError:
                return []

        wait_for(lambda: status("E1") == "ok", 40, "E1 ok")
        wait_for(lambda: len(incidents("E2")) == 1, 40, "E2 offline incident")
        assert incidents("E2")[0].kind == "offline"

        fleet.set("daemon1", "black")
        wait_for(lambda: len(incidents("E1")) == 1, 40, "E1 black incident")
        (inc,) = incidents("E1")
        with engine.connect() as conn:
            rows = list(conn.execute(select(checks.c.started_at, checks.c.verdict).where(checks.c.camera_id == "E1")
                                     .order_by(checks.c.started_at)))
        black = [r for r in rows if r.verdict == "black"]
        assert inc.kind == "black" and inc.started_at == black[0].started_at  # dated from the first black check
        assert inc.opened_at == black[1].started_at  # opened on the second (failures_to_open = 2)

        os.kill(proc.pid, signal.SIGKILL)  # crash in the middle of the incident
        proc.wait(10)
        proc = start(cfg, log)
        with engine.connect() as conn:
            n_before = len(list(conn.execute(select(checks.c.id).where(checks.c.camera_id == "E1"))))
        def n_checks() -> int:
            with engine.connect() as conn:
                return len(list(conn.execute(select(checks.c.id).where(checks.c.camera_id == "E1"))))

        wait_for(lambda: n_checks() >= n_before + 2, 40, "checks after restart")
        assert len(incidents("E1")) == 1 and incidents("E1")[0].closed_at is None  # the same incident, not a new one
        assert len(incidents("E2")) == 1

        fleet.set("daemon1", "day")
        wait_for(lambda: incidents("E1")[0].closed_at is not None, 40, "E1 recovery")
        assert len(incidents("E1")) == 1 and status("E1") == "ok"

        out = subprocess.run([sys.executable, "-m", "camwatch", "status", "-c", str(cfg), "--json"],
                             capture_output=True, text=True, timeout=60, env={**os.environ, "E2E_CAM_PASSWORD": "x"})
        assert out.returncode == 0, out.stderr
        st = {r["camera"]: r for r in json.loads(out.stdout)}
        assert st["E1"]["status"] == "ok" and st["E2"]["status"] == "down"
        assert st["E2"]["incident"]["kind"] == "offline"
        assert st["E1"]["uptime"]["24h"] is not None and st["E1"]["uptime"]["24h"] < 100

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0  # clean, bounded shutdown
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if engine is not None:
            engine.dispose()
        fleet.set("daemon1", "day")
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "camera=E1 commune=yen-dinh incident opened kind=black" in text  # INFO: state changes, not every check
    assert "verdict=" not in text
    assert PASSWORD not in text and "p%40ss" not in text
