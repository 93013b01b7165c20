"""The systemd unit verifies, and the service speaks sd_notify on a real socket."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from camwatch import sdnotify

UNIT = Path(__file__).parent.parent / "deploy" / "systemd" / "camwatch.service"


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze missing: scripts/setup.sh --test installs systemd")
    exe = Path(sys.executable).parent / "camwatch"
    unit = tmp_path / "camwatch.service"
    unit.write_text(UNIT.read_text().replace("/opt/camwatch/bin/camwatch", str(exe)))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [ln for ln in (r.stdout + r.stderr).splitlines() if "camwatch.service" in ln]
    assert r.returncode == 0 and problems == [], r.stdout + r.stderr
    text = UNIT.read_text()
    for must in ("Type=notify", "WatchdogSec=", "DynamicUser=yes", "StateDirectory=camwatch", "LoadCredential=",
                 "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes"):
        assert must in text


def test_sd_notify_sends_datagrams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(path)
        srv.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sdnotify.notify("READY=1")
        assert srv.recv(100) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert sdnotify.notify("READY=1") is False
