"""Email alerts: routing rules over a real database with explicit time, delivery through a real SMTP
server, exactly-once across kill -9, and the full path from a black camera to the technician's inbox."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from camwatch import config as cfgmod
from camwatch.alerts.outbox import route, send_due
from camwatch.alerts.smtp import SmtpTransport
from camwatch.health import Policy, step
from camwatch.model import CheckResult, Verdict
from camwatch.sim.fleet import Fleet, free_port
from camwatch.store import repo
from camwatch.store.schema import notifications
from tests.conftest import PASSWORD
from tests.smtp_sink import SmtpServer

T0 = dt.datetime(2026, 11, 28, 7, 0, tzinfo=dt.UTC)  # 14:00 in Sơn Động
P = Policy(failures_to_open=2, degraded_failures_to_open=2, successes_to_close=2)
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def make_config(tmp: Path, smtp_port: int, n_cameras: int = 12, extra: str = "") -> cfgmod.Config:
    cams = "".join(f"""
[[cameras]]
id = "YD-{i:02d}"
name = "Ngã ba chợ {i}"
commune = "yen-dinh"
location = "Đường 293, km {i}"
gps = [21.33, 106.85]
rtsp_url = "rtsp://127.0.0.1:1/YD-{i:02d}"
""" for i in range(1, n_cameras + 1))
    text = f"""
[district]
state_dir = "{tmp / 'state'}"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "camwatch <camwatch@son-dong.example>"
timeout_s = 5
[alerts]
group_window_s = 60
group_threshold = 3
degraded_delay_s = 1800
escalation = ["doi-kt"]
claim_timeout_s = 1
grafana_url = "https://grafana.example/d/camwatch"
{extra}
[[technicians]]
id = "kt-yd"
name = "Phạm Quốc Việt"
email = "viet@yen-dinh.example"
[[technicians]]
id = "kt-en"
name = "Expert"
email = "expert@example.org"
language = "en"
[[technicians]]
id = "doi-kt"
name = "Đội Kỹ thuật"
email = "doikythuat@son-dong.example"
[[communes]]
id = "yen-dinh"
name = "Yên Định"
technicians = ["kt-yd", "kt-en"]
[[communes]]
id = "cam-dan"
name = "Cẩm Đàn"
technicians = []
{cams}
"""
    (tmp / "cameras.toml").write_text(text, encoding="utf-8")
    return cfgmod.load(tmp / "cameras.toml")


def open_db(config: cfgmod.Config) -> Engine:
    """A migrated database with the config's cameras in it."""
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    with engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": c.id, "commune": c.cfg.commune, "name": c.cfg.name}
                                 for c in config.cameras.values()], T0)
    return engine


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    s = SmtpServer().start()
    yield s
    s.stop()


@pytest.fixture
def setup(tmp_path: Path, smtp: SmtpServer) -> Iterator[tuple[cfgmod.Config, Engine]]:
    config = make_config(tmp_path, smtp.port)
    engine = open_db(config)
    yield config, engine
    engine.dispose()


def check(engine: Engine, cam: str, verdict: Verdict, at: dt.datetime, snapshots: dict | None = None,
          maint: bool = False) -> None:
    with engine.connect() as conn:
        state, _ = repo.load_camera(conn, cam)
    new, tr = step(state, verdict, at, P, in_maintenance=maint)
    with engine.begin() as conn:
        repo.record_check(conn, CheckResult(cam, at, verdict, f"test {verdict}", 1.0), 60.0, new, tr, None, "n",
                          snapshots or {})


def emails(engine: Engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(notifications).where(notifications.c.event == "email")
                                 .order_by(notifications.c.id)))


def email_pictures(msg) -> list[tuple[str, str, bytes]]:
    """(file name, type, bytes) of every named part of an email: the pictures, inline in the HTML part."""
    return [(p.get_filename(), p.get_content_type(), p.get_content()) for p in msg.walk() if p.get_filename()]


def routed(config: cfgmod.Config, engine: Engine, now: dt.datetime) -> int:
    with engine.begin() as conn:
        return route(conn, config, now)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_down_alert_goes_to_the_communes_technicians_in_their_language(setup) -> None:
    config, engine = setup
    for m in (0, 1, 2):
        check(engine, "YD-01", [Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE][m], at(m))
    assert routed(config, engine, at(2.5)) == 0  # within the grouping window: wait for neighbours
    assert routed(config, engine, at(3.1)) == 2
    rows = emails(engine)
    assert {(r.recipient, r.payload["language"], r.kind) for r in rows} == {
        ("viet@yen-dinh.example", "vi", "alert"), ("expert@example.org", "en", "alert")}
    assert routed(config, engine, at(4)) == 0  # nothing twice


def test_ten_cameras_of_a_commune_down_within_a_minute_make_one_email(setup) -> None:
    config, engine = setup
    for i in range(1, 11):
        check(engine, f"YD-{i:02d}", Verdict.OK, at(0))
    for i in range(1, 11):  # the commune's router dies: all down, a few seconds apart
        for k in (1, 2):
            check(engine, f"YD-{i:02d}", Verdict.OFFLINE, at(k) + dt.timedelta(seconds=4 * i))
    assert routed(config, engine, at(3.5)) == 2  # one group email for each of the 2 technicians
    (vi,) = [r for r in emails(engine) if r.payload["language"] == "vi"]
    assert vi.kind == "group" and len(vi.payload["cameras"]) == 10
    for i in range(1, 11):  # power back
        for k in (10, 11):
            check(engine, f"YD-{i:02d}", Verdict.OK, at(k))
    assert routed(config, engine, at(13)) == 2
    assert [r.kind for r in emails(engine)].count("group_recovery") == 2


def test_degraded_waits_and_a_blip_that_closes_first_sends_nothing_not_even_a_recovery(setup) -> None:
    config, engine = setup
    for m, v in enumerate([Verdict.OK, Verdict.BLURRED, Verdict.BLURRED, Verdict.OK, Verdict.OK]):
        check(engine, "YD-02", v, at(m))
    assert routed(config, engine, at(10)) == 0
    assert routed(config, engine, at(60)) == 0
    assert emails(engine) == []
    for m, v in enumerate([Verdict.MOVED, Verdict.MOVED], start=70):
        check(engine, "YD-02", v, at(m))
    assert routed(config, engine, at(80)) == 0  # picture problems wait 30 min
    assert routed(config, engine, at(102)) == 2


def test_recovery_email_follows_its_alert_with_the_duration(setup) -> None:
    config, engine = setup
    for m, v in enumerate([Verdict.OK, Verdict.BLACK, Verdict.BLACK]):
        check(engine, "YD-03", v, at(m))
    routed(config, engine, at(5))
    for m in (90, 91):
        check(engine, "YD-03", Verdict.OK, at(m))
    assert routed(config, engine, at(93)) == 2
    rec = [r for r in emails(engine) if r.kind == "recovery"]
    assert len(rec) == 2 and rec[0].payload["closed_at"] == at(90).isoformat()


def test_reminders_every_24h_and_escalation_to_the_district_after_48h(setup) -> None:
    config, engine = setup
    for m, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE]):
        check(engine, "YD-04", v, at(m))
    routed(config, engine, at(5))
    assert routed(config, engine, at(60 * 23)) == 0
    assert routed(config, engine, at(60 * 24 + 6)) == 2  # reminder
    assert routed(config, engine, at(60 * 48 + 6)) == 3  # second reminder + escalation
    kinds = [(r.kind, r.recipient) for r in emails(engine)]
    assert ("escalation", "doikythuat@son-dong.example") in kinds
    assert [k for k, _ in kinds].count("escalation") == 1
    assert routed(config, engine, at(60 * 49)) == 0


def test_maintenance_opens_nothing_and_sends_nothing(setup) -> None:
    config, engine = setup
    for m, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE, Verdict.OFFLINE]):
        check(engine, "YD-05", v, at(m), maint=m > 0)
    assert routed(config, engine, at(30)) == 0 and emails(engine) == []


def test_delivered_email_is_vietnamese_with_text_html_and_two_jpegs(setup, smtp: SmtpServer, tmp_path: Path) -> None:
    config, engine = setup
    good, bad = tmp_path / "good.jpg", tmp_path / "bad.jpg"
    good.write_bytes(JPEG)
    bad.write_bytes(JPEG + b"x")
    check(engine, "YD-06", Verdict.OK, at(0))
    check(engine, "YD-06", Verdict.BLACK, at(1))
    check(engine, "YD-06", Verdict.BLACK, at(2), {"first_bad": str(bad), "last_good_at_open": str(good)})
    routed(config, engine, at(4))
    sent, failed = send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(4))
    assert (sent, failed) == (2, 0)
    msgs = {m["To"].addresses[0].addr_spec: m for m in smtp.sink.messages}
    vi = msgs["viet@yen-dinh.example"]
    assert vi["To"].addresses[0].display_name == "Phạm Quốc Việt"
    subject = str(make_header(decode_header(vi["Subject"])))
    assert subject == "[camwatch] Yên Định – YD-06 Ngã ba chợ 6: MÀN HÌNH ĐEN từ 14:01"
    assert "=?utf-8?" in vi.as_string().split("\n\n")[0].lower() or "utf-8" in vi.as_string().lower()
    text = vi.get_body(("plain",)).get_content()
    assert "Đường 293, km 6" in text and "Kiểm tra ống kính" in text and "14:01 28/11/2026" in text
    assert "openstreetmap.org/?mlat=21.33" in text and "https://grafana.example/d/camwatch" in text
    assert "<table " in vi.get_body(("html",)).get_content()
    atts = email_pictures(vi)
    assert [(a[0], a[1]) for a in atts] == [("anh-tot-gan-nhat.jpg", "image/jpeg"),
                                            ("anh-luc-phat-hien-su-co.jpg", "image/jpeg")]
    assert atts[0][2] == JPEG and atts[1][2] == JPEG + b"x"
    en = msgs["expert@example.org"]
    assert str(make_header(decode_header(en["Subject"]))).endswith("BLACK PICTURE since 14:01")


def test_smtp_down_queues_then_everything_is_delivered_once(setup, smtp: SmtpServer) -> None:
    config, engine = setup
    for i in (7, 8):
        for m, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE]):
            check(engine, f"YD-{i:02d}", v, at(m))
    routed(config, engine, at(4))
    smtp.stop()
    sent, failed = send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(4))
    assert sent == 0 and failed == 1  # stops at the first failure: keeps the order
    assert all(r.sent_at is None for r in emails(engine))
    with engine.connect() as conn:
        assert repo.outbox_counts(conn)["pending"] == 4
    smtp.start()
    soon = at(4) + dt.timedelta(seconds=10)
    assert send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: soon)[0] == 0  # backing off
    sent, failed = send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(30))
    assert (sent, failed) == (4, 0)
    assert len(smtp.sink.messages) == 4
    assert send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(60)) == (0, 0)


def test_a_permanently_refused_address_is_not_retried_forever(setup, smtp: SmtpServer) -> None:
    config, engine = setup
    smtp.sink.reject["expert@example.org"] = "550 5.1.1 no such user"
    for m, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE]):
        check(engine, "YD-09", v, at(m))
    routed(config, engine, at(4))
    sent, failed = send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(4))
    assert (sent, failed) == (1, 1)
    with engine.connect() as conn:
        assert repo.outbox_counts(conn) == {"pending": 0, "sent": 1, "failed": 1}
    (bad,) = [r for r in emails(engine) if r.failed_permanently]
    assert "550" in bad.last_error


@pytest.mark.parametrize(("kill_at", "deliveries"), [("rcpt", 1), ("data", 2)])
def test_kill_9_of_the_sender_loses_nothing(setup, smtp: SmtpServer, tmp_path: Path, kill_at: str,
                                            deliveries: int) -> None:
    """Killed between claim and send: delivered once. Killed after the server accepted, before the
    mark: delivered twice with the same Message-ID (the documented window)."""
    config, engine = setup
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # the flush below runs now: no reminder is due yet
    for m, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE]):
        check(engine, "YD-10", v, start + dt.timedelta(minutes=m))
    routed(config, engine, start + dt.timedelta(minutes=5))
    with engine.begin() as conn:  # one recipient is enough here
        conn.execute(notifications.delete().where(notifications.c.recipient == "expert@example.org"))
    smtp.sink.kill_pid_at = kill_at
    cmd = [sys.executable, "-m", "camwatch", "alerts", "flush", "-c", str(tmp_path / "cameras.toml")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    smtp.sink.kill_pid = proc.pid
    assert proc.wait(60) == -9
    assert emails(engine)[0].sent_at is None and emails(engine)[0].claimed_at is not None
    time.sleep(1.2)  # the claim expires (claim_timeout_s = 1)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(smtp.sink.messages) == deliveries
    assert len({m["Message-ID"] for m in smtp.sink.messages}) == 1
    (row,) = emails(engine)
    assert row.sent_at is not None and row.attempts == 2


def test_full_path_black_camera_to_inbox_and_recovery(fleet: Fleet, smtp: SmtpServer, tmp_path: Path) -> None:
    fleet.set("alerts1", "day")
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(f"""
[district]
state_dir = "{tmp_path / 'state'}"
[metrics]
enabled = false
[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
[alerts]
group_window_s = 0
[defaults]
user = "admin"
password_env = "A_CAM_PASSWORD"
interval_s = 3
[defaults.health]
failures_to_open = 2
successes_to_close = 2
[[technicians]]
id = "kt"
name = "Kỹ thuật viên"
email = "kt@cam-dan.example"
[[communes]]
id = "cam-dan"
name = "Cẩm Đàn"
technicians = ["kt"]
[[cameras]]
id = "CD-07"
name = "Cầu Cẩm Đàn"
commune = "cam-dan"
rtsp_url = "{fleet.url('alerts1')}"
""", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg)],
                            env={**os.environ, "A_CAM_PASSWORD": PASSWORD}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def wait(n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(smtp.sink.messages) < n and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(smtp.sink.messages) >= n, f"{len(smtp.sink.messages)} emails, expected {n}"

    try:
        time.sleep(8)  # healthy checks first: a last good picture exists
        fleet.set("alerts1", "black")
        wait(1)
        alert = smtp.sink.messages[0]
        assert "MÀN HÌNH ĐEN" in str(make_header(decode_header(alert["Subject"])))
        atts = email_pictures(alert)
        assert [a[0] for a in atts] == ["anh-tot-gan-nhat.jpg", "anh-luc-phat-hien-su-co.jpg"]
        assert all(a[2][:2] == b"\xff\xd8" for a in atts)
        fleet.set("alerts1", "day")
        wait(2)
        rec = smtp.sink.messages[1]
        assert "ĐÃ HOẠT ĐỘNG LẠI" in str(make_header(decode_header(rec["Subject"])))
        assert "Thời gian gián đoạn" in rec.get_body(("plain",)).get_content()
        time.sleep(4)
        assert len(smtp.sink.messages) == 2  # nothing twice
    finally:
        proc.terminate()
        proc.wait(20)
        fleet.set("alerts1", "day")


def test_alerts_test_command_sends_through_smtp(smtp: SmtpServer, tmp_path: Path) -> None:
    make_config(tmp_path, smtp.port, n_cameras=1)
    r = subprocess.run([sys.executable, "-m", "camwatch", "alerts", "test", "--to", "a@b.example", "-c",
                        str(tmp_path / "cameras.toml")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert str(make_header(decode_header(smtp.sink.messages[0]["Subject"]))) == "[camwatch] Thư thử nghiệm"
    port = free_port()
    make_config(tmp_path, port, n_cameras=1)  # nothing listens there
    r = subprocess.run([sys.executable, "-m", "camwatch", "alerts", "test", "--to", "a@b.example", "-c",
                        str(tmp_path / "cameras.toml")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "cannot reach the SMTP server" in r.stderr


def test_an_unreachable_upstream_device_folds_the_commune_into_one_alert(tmp_path: Path, smtp: SmtpServer) -> None:
    import socket

    listener = socket.create_server(("127.0.0.1", 0))  # the commune's router, answering
    up_port = listener.getsockname()[1]
    config = make_config(tmp_path, smtp.port, n_cameras=2)
    text = (tmp_path / "cameras.toml").read_text(encoding="utf-8").replace(
        'technicians = ["kt-yd", "kt-en"]', f'technicians = ["kt-yd", "kt-en"]\nupstream = "127.0.0.1:{up_port}"')
    (tmp_path / "cameras.toml").write_text(text, encoding="utf-8")
    config = cfgmod.load(tmp_path / "cameras.toml")
    engine = open_db(config)
    try:
        for m, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE]):
            check(engine, "YD-01", v, at(m))
        assert routed(config, engine, at(4)) == 2  # the router answers: one camera's own alert
        assert {r.kind for r in emails(engine)} == {"alert"}
        listener.close()  # now the router is gone too
        for m, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE], start=10):
            check(engine, "YD-02", v, at(m))
        assert routed(config, engine, at(14)) == 2
        upstream = [r for r in emails(engine) if r.kind == "upstream"]
        assert len(upstream) == 2 and upstream[0].payload["upstream"] == f"127.0.0.1:{up_port}"
        send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: at(14))
        subjects = [str(make_header(decode_header(m["Subject"]))) for m in smtp.sink.messages]
        assert any("MẤT KẾT NỐI THIẾT BỊ MẠNG CỦA XÃ" in s for s in subjects)
    finally:
        engine.dispose()


def test_daily_digest_lists_what_is_still_open_once_a_day(tmp_path: Path, smtp: SmtpServer) -> None:
    config = make_config(tmp_path, smtp.port, n_cameras=3, extra='daily_digest_at = "07:00"')
    engine = open_db(config)
    try:
        for m, v in enumerate([Verdict.OK, Verdict.BLACK, Verdict.BLACK]):
            check(engine, "YD-03", v, at(m))
        routed(config, engine, at(5))  # 14:05 local: today's digest time (07:00) has passed
        digests = [r for r in emails(engine) if r.kind == "digest"]
        assert len(digests) == 2 and [c["camera"] for c in digests[0].payload["cameras"]] == ["YD-03"]
        assert routed(config, engine, at(60)) == 0  # once a day
        tomorrow_6am = T0 + dt.timedelta(hours=16)  # 23:00 UTC = 06:00 local: not yet
        routed(config, engine, tomorrow_6am)
        assert len([r for r in emails(engine) if r.kind == "digest"]) == 2
        routed(config, engine, T0 + dt.timedelta(hours=17))  # 07:00 local the next day
        assert len([r for r in emails(engine) if r.kind == "digest"]) == 4
        send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: T0 + dt.timedelta(hours=17))
        subjects = [str(make_header(decode_header(m["Subject"]))) for m in smtp.sink.messages]
        assert "[camwatch] Yên Định: Tổng hợp ngày 2026-11-28" in subjects
    finally:
        engine.dispose()
