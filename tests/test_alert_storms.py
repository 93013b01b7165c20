"""Storm control, acknowledgement and mutes, over a real database with explicit time (the router runs after
every check, as the daemon's 5-second job would)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from camwatch import config as cfgmod
from camwatch.alerts.outbox import send_due
from camwatch.alerts.smtp import SmtpTransport
from camwatch.health import Policy, step
from camwatch.metrics import CameraCollector
from camwatch.model import CheckResult, Verdict
from camwatch.store import acks, repo
from camwatch.views import Views
from tests.smtp_sink import SmtpServer
from tests.test_alerts import at, emails, make_config, open_db, routed

FLAPPY = Policy(failures_to_open=2, successes_to_close=2, flap_threshold=3, flap_window_s=3600, flap_stable_s=1800)
OFF, OK = Verdict.OFFLINE, Verdict.OK


def check(engine: Engine, cam: str, verdict: Verdict, when: dt.datetime, policy: Policy = FLAPPY) -> None:
    with engine.connect() as conn:
        state, _ = repo.load_camera(conn, cam)
    new, tr = step(state, verdict, when, policy)
    with engine.begin() as conn:
        repo.record_check(conn, CheckResult(cam, when, verdict, f"test {verdict}", 1.0), 60.0, new, tr, None, "n", {})


@pytest.fixture
def smtp():
    s = SmtpServer().start()
    yield s
    s.stop()


@pytest.fixture
def setup(tmp_path: Path, smtp: SmtpServer):
    config = make_config(tmp_path, smtp.port, n_cameras=4)
    engine = open_db(config)
    yield config, engine
    engine.dispose()


def vi_kinds(engine: Engine) -> list[str]:
    return [r.kind for r in emails(engine) if r.recipient == "viet@yen-dinh.example"]


def run(config: cfgmod.Config, engine: Engine, cam: str, seq: list[Verdict], start: float) -> float:
    """One check a minute, routing after each; returns the minute after the last."""
    m = start
    for v in seq:
        check(engine, cam, v, at(m))
        routed(config, engine, at(m) + dt.timedelta(seconds=30))
        m += 1
    return m


def test_a_flapping_camera_sends_one_unstable_email_then_nothing_until_stable_then_one_summary(setup) -> None:
    config, engine = setup
    m = run(config, engine, "YD-01", [OK] + [OFF, OFF, OK, OK, OK, OK] * 8, 0)  # down and back 8 times in 49 min
    kinds = vi_kinds(engine)
    assert kinds == ["alert", "recovery", "alert", "recovery", "flapping"]  # the 3rd outage makes it "unstable"
    m = run(config, engine, "YD-01", [OK] * 29, m)  # stable, but not for 30 minutes yet
    assert vi_kinds(engine) == kinds
    run(config, engine, "YD-01", [OK] * 3, m)
    assert vi_kinds(engine) == [*kinds, "steady"]
    (summary,) = [r for r in emails(engine) if r.kind == "steady" and r.recipient == "viet@yen-dinh.example"]
    assert summary.payload["outages"] == 8 and summary.payload["current"] is None
    send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(200))


def test_a_flapping_camera_that_settles_down_gets_a_summary_that_it_is_down_then_its_recovery(setup, smtp) -> None:
    config, engine = setup
    m = run(config, engine, "YD-02", [OK] + [OFF, OFF, OK, OK, OK, OK] * 3 + [OFF] * 35, 0)
    assert vi_kinds(engine) == ["alert", "recovery", "alert", "recovery", "flapping", "steady"]
    (summary,) = [r for r in emails(engine) if r.kind == "steady" and r.recipient == "viet@yen-dinh.example"]
    assert summary.payload["current"]["kind"] == "offline"
    run(config, engine, "YD-02", [OK] * 3, m)
    assert vi_kinds(engine)[-1] == "recovery"  # the summary stood for its alert
    send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(m + 5))
    subjects = [str(x["Subject"]) for x in smtp.sink.messages if "viet@" in str(x["To"])]
    assert any("CHẬP CHỜN" in s for s in subjects) and any("ĐÃ ỔN ĐỊNH LẠI" in s for s in subjects)
    steady = next(x for x in smtp.sink.messages if "ĐÃ ỔN ĐỊNH LẠI" in str(x["Subject"]) and "viet@" in str(x["To"]))
    text = steady.get_body(("plain",)).get_content()
    assert "Hiện tại: MẤT KẾT NỐI từ" in text and "Số lần gián đoạn: 4 lần" in text


def test_all_cameras_of_a_small_commune_down_together_make_one_email(tmp_path: Path, smtp: SmtpServer) -> None:
    config = make_config(tmp_path, smtp.port, n_cameras=2)  # group_threshold = 3, and the commune has 2
    engine = open_db(config)
    try:
        for cam in ("YD-01", "YD-02"):
            check(engine, cam, OK, at(0))
        for k in (1, 2):
            for cam in ("YD-01", "YD-02"):
                check(engine, cam, OFF, at(k))
        assert routed(config, engine, at(3.5)) == 2  # one email to each of the two technicians
        (vi,) = [r for r in emails(engine) if r.recipient == "viet@yen-dinh.example"]
        assert vi.kind == "group" and vi.payload["all_of_commune"] and len(vi.payload["cameras"]) == 2
        for k in (10, 11):
            for cam in ("YD-01", "YD-02"):
                check(engine, cam, OK, at(k))
        routed(config, engine, at(13))
        assert vi_kinds(engine) == ["group", "group_recovery"]
        send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(13))
        assert "TẤT CẢ CAMERA CỦA XÃ GẶP SỰ CỐ (2)" in str(smtp.sink.messages[0]["Subject"])
    finally:
        engine.dispose()


def test_one_of_two_cameras_down_is_its_own_alert(tmp_path: Path, smtp: SmtpServer) -> None:
    config = make_config(tmp_path, smtp.port, n_cameras=2)
    engine = open_db(config)
    try:
        for k, v in enumerate([OK, OFF, OFF]):
            check(engine, "YD-01", v, at(k))
        routed(config, engine, at(3.5))
        assert vi_kinds(engine) == ["alert"]
    finally:
        engine.dispose()


def test_acknowledged_incident_gets_no_reminders_but_is_still_escalated(setup, smtp) -> None:
    config, engine = setup
    for k, v in enumerate([OK, OFF, OFF]):
        check(engine, "YD-03", v, at(k))
    routed(config, engine, at(5))
    with engine.connect() as conn:
        (inc,) = repo.incident_rows(conn, open_only=True)
    with engine.begin() as conn:
        acks.acknowledge(conn, inc.id, "Phạm Quốc Việt", "đã báo điện lực", at(10))
    assert routed(config, engine, at(60 * 24 + 6)) == 0  # no reminder
    assert routed(config, engine, at(60 * 48 + 6)) == 1  # the district team, acknowledged or not
    esc = [r for r in emails(engine) if r.kind == "escalation"]
    assert len(esc) == 1 and esc[0].payload["acknowledged_by"] == "Phạm Quốc Việt"
    send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(60 * 48 + 6))
    text = next(m for m in smtp.sink.messages if "CHUYỂN ĐỘI" in str(m["Subject"])).get_body(("plain",)).get_content()
    assert "Đã nhận xử lý: Phạm Quốc Việt, 14:10 28/11/2026 – đã báo điện lực" in text


def test_a_muted_camera_sends_nothing_until_the_mute_ends_then_what_is_still_open(setup) -> None:
    config, engine = setup
    with engine.begin() as conn:
        acks.add_mute(conn, "YD-04", at(0), at(60 * 72), "Việt", "chờ thay camera")
    for k, v in enumerate([OK, OFF, OFF]):
        check(engine, "YD-04", v, at(k))
    assert routed(config, engine, at(5)) == 0
    assert routed(config, engine, at(60 * 30)) == 0  # no reminder of an outage nobody was told of
    assert routed(config, engine, at(60 * 72 + 1)) == 3  # the mute is over, still down: the alert (and 72 h: the district)
    assert vi_kinds(engine) == ["alert"]


def test_ack_and_mute_from_the_command_line_show_in_status_incidents_and_metrics(setup, tmp_path: Path) -> None:
    config, engine = setup
    for k, v in enumerate([OK, OFF, OFF]):
        check(engine, "YD-01", v, at(k))
    with engine.connect() as conn:
        (inc,) = repo.incident_rows(conn, open_only=True)
    cfg = str(tmp_path / "cameras.toml")

    def cw(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "camwatch", *argv, "-c", cfg], capture_output=True, text=True,
                              timeout=60)

    r = cw("incidents", "ack", str(inc.id), "--by", "Phạm Quốc Việt", "--note", "đang sửa")
    assert r.returncode == 0 and "acknowledged by Phạm Quốc Việt" in r.stdout, r.stderr
    assert cw("incidents", "ack", "999", "--by", "x").returncode == 2
    assert cw("incidents", "ack", str(inc.id)).returncode == 2  # --by is required
    r = cw("incidents", "mute", "YD-02", "--for", "3d", "--by", "Việt")
    assert r.returncode == 0 and "YD-02 muted for 3 d" in r.stdout, r.stderr
    listed = json.loads(cw("incidents", "--open", "--json").stdout)
    assert listed[0]["acknowledged_by"] == "Phạm Quốc Việt" and listed[0]["ack_note"] == "đang sửa"
    status = {s["camera"]: s for s in json.loads(cw("status", "--json").stdout)}
    assert status["YD-01"]["incident"]["acknowledged_by"] == "Phạm Quốc Việt"
    assert status["YD-02"]["muted_until"] is not None and status["YD-03"]["muted_until"] is None
    assert "acknowledged by Phạm Quốc Việt" in cw("status").stdout
    views = Views(config)
    views.load(engine)
    reg = CollectorRegistry()
    reg.register(CameraCollector(views.current))
    assert reg.get_sample_value("camwatch_camera_incident_acknowledged", {"camera": "YD-01", "commune": "yen-dinh"}) == 1
    assert reg.get_sample_value("camwatch_camera_incident_acknowledged", {"camera": "YD-02", "commune": "yen-dinh"}) is None
