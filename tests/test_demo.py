"""`camwatch demo` on this machine: it runs the simulated district, detects the faults, and leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from camwatch.store import repo
from camwatch.store.schema import cameras

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_demo_detects_the_faults_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "camwatch", "demo", "--dir", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        db = state / "camwatch.db"
        want = {"CD-02": "down", "DS-02": "down", "VS-02": "degraded", "TYT-01": "down", "TYT-02": "down",
                "CD-01": "ok", "DS-01": "ok", "VS-01": "ok"}
        got: dict[str, str] = {}
        while time.monotonic() < deadline:
            if db.exists():
                engine = repo.make_engine(f"sqlite:///{db}")
                try:
                    with engine.connect() as conn:
                        got = {r.id: r.status for r in conn.execute(select(cameras.c.id, cameras.c.status))}
                except Exception:  # the daemon may still be creating its tables
                    got = {}
                finally:
                    engine.dispose()
                if all(got.get(k) == v for k, v in want.items()):
                    break
            time.sleep(2)
        assert {k: got.get(k) for k in want} == want
        mail_deadline = time.monotonic() + 60  # alerts wait for the commune grouping window (20 s in the demo)
        while not list((state / "mail").glob("*.eml")) and time.monotonic() < mail_deadline:
            time.sleep(1)
        mails = list((state / "mail").glob("*.eml"))
        assert mails, "the local SMTP sink received no alert"
        kids = children_of(proc.pid)
        assert kids, "the RTSP simulator should be a child process"
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert "demo stopped" in out and "camwatch status -c" in out
        time.sleep(0.5)
        for k in kids:
            assert not os.path.exists(f"/proc/{k}") or "zombie" in Path(f"/proc/{k}/status").read_text().lower()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
