"""Config: each bad file is paired with the exact errors it must produce; secrets never print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from camwatch import config as cfgmod
from camwatch.urls import mask_url, split_credentials, with_credentials

CASES = Path(__file__).parent / "config_errors"


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.expected")))
def test_each_config_error_is_reported_with_its_path_and_line(case: str) -> None:
    with pytest.raises(cfgmod.ConfigError) as exc:
        cfgmod.load(CASES / f"{case}.toml")
    got = [str(i) for i in exc.value.issues]
    assert got == (CASES / f"{case}.expected").read_text(encoding="utf-8").splitlines()


def test_invalid_toml_is_reported_with_its_line() -> None:
    with pytest.raises(cfgmod.ConfigError) as exc:
        cfgmod.load(CASES / "bad_toml.toml")
    (issue,) = exc.value.issues
    assert issue.line == 2 and issue.message.startswith("not valid TOML")


def test_check_config_exits_2_and_prints_every_error(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "camwatch", "check-config", "-c", str(CASES / "several_errors.toml")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "3 error(s)" in r.stderr and "line 12: cameras[0].rtsp_url" in r.stderr


def test_shipped_district_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMWATCH_CAMERA_PASSWORD", "x")
    cfg = cfgmod.load(Path(__file__).parent.parent / "config" / "cameras.toml")
    assert len(cfg.cameras) == 103 and len(cfg.file.communes) == 17
    per_commune = {c.name: sum(1 for cam in cfg.cameras.values() if cam.commune.id == c.id) for c in cfg.file.communes}
    assert per_commune["Yên Định"] == 27 and per_commune["Cẩm Đàn"] == 13 and per_commune["Thị trấn Tây Yên Tử"] == 10


def test_passwords_come_from_env_or_file_and_never_print(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "cam-pass"
    secret_file.write_text("S3cr3tF1le#@:x\n", encoding="utf-8")
    monkeypatch.setenv("CAM_PASS", "S3cr3tEnv#@:x")
    text = (CASES / "base.toml").read_text(encoding="utf-8").replace('password = "lab"', 'password_env = "CAM_PASS"')
    text += f'\n[[cameras]]\nid = "YD-02"\nname = "Cầu"\ncommune = "yen-dinh"\nrtsp_url = "rtsp://10.0.0.2/s"\n' \
            f'user = "admin"\npassword_file = "{secret_file}"\n'
    cfg = cfgmod.loads(text)
    cam1, cam2 = cfg.cameras["YD-01"], cfg.cameras["YD-02"]
    assert cam2.password is not None and cam2.password.get_secret_value() == "S3cr3tF1le#@:x"
    assert with_credentials(cam2.cfg.rtsp_url or "", cam2.user, cam2.password.get_secret_value()) == \
        "rtsp://admin:S3cr3tF1le%23%40%3Ax@10.0.0.2/s"
    assert cam1.password is not None and cam1.password.get_secret_value() == "S3cr3tEnv#@:x"
    for shown in (repr(cfg), str(cfg.file), repr(cam1), repr(cam2), cfg.file.model_dump_json()):
        assert "S3cr3t" not in shown


def test_retired_cameras_leave_the_active_list() -> None:
    text = (CASES / "base.toml").read_text(encoding="utf-8") + "retired = true\n"
    assert cfgmod.loads(text).cameras == {}


def test_urls_are_encoded_and_masked() -> None:
    url = with_credentials("rtsp://192.168.1.64:554/Streaming/Channels/102", "admin", "a#b@c:d/e")
    assert url == "rtsp://admin:a%23b%40c%3Ad%2Fe@192.168.1.64:554/Streaming/Channels/102"
    assert mask_url(url) == "rtsp://admin:***@192.168.1.64:554/Streaming/Channels/102"
    assert mask_url("rtsp://u:raw@pass@h/p and rtsp://h2/x") == "rtsp://u:***@h/p and rtsp://h2/x"
    assert split_credentials("rtsp://admin:a%23b@h:554/p") == ("rtsp://h:554/p", "admin", "a#b")


def test_planned_maintenance_windows_one_off_and_daily_in_local_time() -> None:
    import datetime as dt

    text = (CASES / "base.toml").read_text(encoding="utf-8") + """
[[maintenance]]
camera = "YD-01"
start = 2026-12-01T08:00:00
end = 2026-12-01T12:00:00
reason = "thay ống kính"

[[maintenance]]
commune = "yen-dinh"
daily = "23:30-00:30"
"""
    cfg = cfgmod.loads(text)
    utc = dt.UTC
    day = (dt.datetime(2026, 12, 1, 0, 0, tzinfo=utc), dt.datetime(2026, 12, 2, 0, 0, tzinfo=utc))
    got = sorted(cfg.maintenance_windows("YD-01", "yen-dinh", *day))
    assert (dt.datetime(2026, 12, 1, 1, 0, tzinfo=utc), dt.datetime(2026, 12, 1, 5, 0, tzinfo=utc)) in got  # 08–12 +07
    assert (dt.datetime(2026, 12, 1, 16, 30, tzinfo=utc), dt.datetime(2026, 12, 1, 17, 30, tzinfo=utc)) in got
    assert cfg.maintenance_windows("OTHER", "other-commune", *day) == []


def test_bad_maintenance_entries_are_reported() -> None:
    text = (CASES / "base.toml").read_text(encoding="utf-8") + """
[[maintenance]]
camera = "YD-09"
daily = "01:00-02:00"

[[maintenance]]
commune = "yen-dinh"
daily = "25:00-02:00"
"""
    with pytest.raises(cfgmod.ConfigError) as exc:
        cfgmod.loads(text)
    got = [str(i) for i in exc.value.issues]
    assert got[0].startswith("line 24: maintenance[1].daily: String should match pattern")
    with pytest.raises(cfgmod.ConfigError) as exc:
        cfgmod.loads(text.replace("25:00", "01:00"))
    assert [str(i) for i in exc.value.issues] == ["line 19: maintenance[0].camera: unknown camera 'YD-09'"]
