"""`camwatch check` as a user runs it: verdicts, JSON, exit codes, snapshots, no password anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from camwatch.sim.fleet import Fleet
from tests.conftest import PASSWORD


def camwatch(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "camwatch", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def config(tmp: Path, fleet: Fleet, closed_port: int) -> Path:
    p = tmp / "cameras.toml"
    p.write_text(f"""
[district]
state_dir = "{tmp / 'state'}"
[defaults]
user = "admin"
password_env = "CLI_CAM_PASSWORD"
deadline_s = 8
[[communes]]
id = "cam-dan"
name = "Cẩm Đàn"
[[cameras]]
id = "CD-01"
name = "Ngã ba chợ Cẩm Đàn"
commune = "cam-dan"
rtsp_url = "{fleet.url('day')}"
[[cameras]]
id = "CD-02"
name = "Cầu Cẩm Đàn"
commune = "cam-dan"
rtsp_url = "{fleet.url('black')}"
[[cameras]]
id = "CD-03"
name = "UBND xã"
commune = "cam-dan"
rtsp_url = "rtsp://127.0.0.1:{closed_port}/x"
""", encoding="utf-8")
    return p


def test_check_one_camera_prints_verdict_facts_and_snapshot(fleet: Fleet, tmp_path: Path, closed_port: int) -> None:
    cfg = config(tmp_path, fleet, closed_port)
    r = camwatch("check", "CD-01", "-c", str(cfg), env={"CLI_CAM_PASSWORD": PASSWORD})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict   ok" in r.stdout and "h264 640×360" in r.stdout and "Cẩm Đàn" in r.stdout
    assert (tmp_path / "state" / "snapshots" / "CD-01" / "check.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_check_all_json_and_exit_code_1_when_any_is_unhealthy(fleet: Fleet, tmp_path: Path, closed_port: int) -> None:
    cfg = config(tmp_path, fleet, closed_port)
    r = camwatch("check", "--all", "--json", "-c", str(cfg), env={"CLI_CAM_PASSWORD": PASSWORD})
    assert r.returncode == 1, r.stderr
    data = {d["camera"]: d for d in json.loads(r.stdout)}
    assert {k: v["verdict"] for k, v in data.items()} == {"CD-01": "ok", "CD-02": "black", "CD-03": "offline"}
    for d in data.values():
        assert {"camera", "verdict", "reason", "findings", "stream", "snapshot"} <= set(d)
    assert data["CD-02"]["findings"][0]["numbers"]["black_ratio"] > 0.9
    assert data["CD-01"]["stream"]["width"] == 640 and data["CD-01"]["stream"]["time_to_first_frame_s"] > 0
    assert PASSWORD not in r.stdout + r.stderr


def test_check_url_masks_the_password(fleet: Fleet, tmp_path: Path) -> None:
    from camwatch.urls import with_credentials

    r = camwatch("check", "--url", with_credentials(fleet.url("frozen"), "admin", PASSWORD), "--json", cwd=tmp_path)
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert d["verdict"] == "frozen" and d["camera"].startswith("rtsp://admin:***@")
    assert "p%40ss" not in r.stdout and PASSWORD not in r.stdout


def test_usage_errors_exit_2(tmp_path: Path, fleet: Fleet, closed_port: int) -> None:
    cfg = config(tmp_path, fleet, closed_port)
    assert camwatch("check", "NOPE", "-c", str(cfg), env={"CLI_CAM_PASSWORD": "x"}).returncode == 2
    assert camwatch("check", "-c", str(cfg), env={"CLI_CAM_PASSWORD": "x"}).returncode == 2
