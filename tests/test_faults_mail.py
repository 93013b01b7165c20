"""Mail servers that fail, against a real SMTP server (aiosmtpd) and real `camwatch` processes. camwatch survives:

- a server-wide `554 transaction failed` at DATA: retried with backoff, then delivered once (not lost as "permanent");
- a refused recipient (550 to RCPT): permanent for that address only, while the others are retried and delivered;
- an SMTP outage (refused connections, then `421`) longer than max_attempts × backoff: nothing lost, no attempt used up;
- the end of a long outage: the queue goes out within a minute, not after the first email's grown backoff;
- one email in backoff (a `451` at DATA): the others that are due go out; only its own recovery waits behind it;
- a failed email: `camwatch alerts retry ID` / `--failed` make it pending again (shown in `alerts outbox`), then delivered;
- a sender killed with `kill -9` mid-send: its email goes out at the next round, not after the 5-minute claim timeout;
- SIGTERM to the daemon while a slow mail server takes seconds per email: it stops within seconds (the email in
  progress finishes, no new one starts), and nothing is sent twice afterwards.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from camwatch import config as cfgmod
from camwatch.alerts.outbox import order_keys, send_due
from camwatch.alerts.smtp import SmtpTransport
from camwatch.model import Verdict
from camwatch.sim.fleet import Fleet
from camwatch.store import repo
from camwatch.store.schema import notifications
from tests.conftest import PASSWORD
from tests.helpers import camwatch, config_text, start_daemon, stop_daemon, wait_for
from tests.smtp_sink import SmtpServer
from tests.test_alerts import at, check, emails, make_config, open_db, routed

VIET, EXPERT = "viet@yen-dinh.example", "expert@example.org"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    s = SmtpServer().start()
    yield s
    s.stop()


def setup(tmp: Path, smtp: SmtpServer, replace: dict[str, str] | None = None) -> tuple[cfgmod.Config, Engine]:
    make_config(tmp, smtp.port)
    text = (tmp / "cameras.toml").read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    (tmp / "cameras.toml").write_text(text, encoding="utf-8")
    config = cfgmod.load(tmp / "cameras.toml")
    return config, open_db(config)


def outage(engine: Engine, cam: str, start: dt.datetime) -> None:
    for k, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE]):
        check(engine, cam, v, start + dt.timedelta(minutes=k))


def flush(config: cfgmod.Config, engine: Engine, now: dt.datetime) -> tuple[int, int]:
    return send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: now)


def to(smtp: SmtpServer, address: str) -> list[str]:
    """The subjects the server accepted for one address, in order."""
    return [str(m["Subject"]) for m in smtp.sink.messages if m["To"].addresses[0].addr_spec == address]


def test_a_server_wide_554_is_retried_then_delivered_once_while_a_refused_recipient_fails(tmp_path: Path,
                                                                                           smtp: SmtpServer) -> None:
    config, engine = setup(tmp_path, smtp)
    outage(engine, "YD-01", at(0))
    assert routed(config, engine, at(4)) == 2
    smtp.sink.reject[EXPERT] = "550 5.1.1 no such user"
    smtp.sink.fail["data"] = "554 5.3.0 transaction failed"  # the server's own trouble, for every email
    assert flush(config, engine, at(4)) == (0, 2)
    viet, expert = sorted(emails(engine), key=lambda r: r.recipient != VIET)
    assert expert.failed_permanently and "550 5.1.1" in expert.last_error
    assert not viet.failed_permanently and "554 5.3.0" in viet.last_error and viet.refusals == 1
    assert flush(config, engine, at(4.2)) == (0, 0)  # its own backoff
    assert flush(config, engine, at(4.6)) == (0, 1)  # still 554: retried again later
    del smtp.sink.fail["data"]
    assert flush(config, engine, at(6)) == (1, 0)
    assert flush(config, engine, at(60)) == (0, 0)
    assert len(to(smtp, VIET)) == 1 and to(smtp, EXPERT) == []
    with engine.connect() as conn:
        assert repo.outbox_counts(conn) == {"pending": 0, "sent": 1, "failed": 1}


def test_an_outage_longer_than_max_attempts_times_backoff_loses_nothing(tmp_path: Path, smtp: SmtpServer) -> None:
    config, engine = setup(tmp_path, smtp, {"claim_timeout_s = 1": "claim_timeout_s = 1\nmax_attempts = 2"})
    outage(engine, "YD-02", at(0))
    routed(config, engine, at(4))
    smtp.stop()
    minute = 4.0
    for _ in range(10):  # 20 minutes of refused connections: far past 2 attempts of any backoff
        minute += 2
        assert flush(config, engine, at(minute)) == (0, 1)
    smtp.start()
    smtp.sink.fail["mail"] = "421 4.3.2 service shutting down"  # up, but not taking mail yet
    for _ in range(3):
        minute += 2
        assert flush(config, engine, at(minute)) == (0, 1)
    rows = emails(engine)
    assert all(r.sent_at is None and not r.failed_permanently and r.refusals == 0 for r in rows), rows
    assert rows[0].attempts == 13
    del smtp.sink.fail["mail"]
    # back: everything goes out at the next try, a minute after the last failure at most
    assert flush(config, engine, at(minute) + dt.timedelta(seconds=61)) == (2, 0)
    assert len(smtp.sink.messages) == 2 and len({m["Message-ID"] for m in smtp.sink.messages}) == 2


def test_one_email_in_backoff_does_not_delay_another_that_is_due(tmp_path: Path, smtp: SmtpServer) -> None:
    config, engine = setup(tmp_path, smtp)
    outage(engine, "YD-01", at(0))
    outage(engine, "YD-02", at(0))
    assert routed(config, engine, at(4)) == 4  # YD-01 then YD-02, to Việt and to the expert
    smtp.sink.answers["data"] = ["451 4.3.0 mailbox busy, try later"]  # for the first: YD-01's alert to Việt
    assert flush(config, engine, at(4)) == (3, 1)  # YD-02's alert to Việt does not wait for YD-01's
    assert len(to(smtp, VIET)) == 1 and "YD-02" in to(smtp, VIET)[0]
    check(engine, "YD-01", Verdict.OK, at(4.7))
    check(engine, "YD-01", Verdict.OK, at(4.8))  # YD-01 recovers
    smtp.sink.answers["data"] = ["451 4.3.0 mailbox busy, try later"]
    assert flush(config, engine, at(5)) == (0, 1)  # YD-01's alert to Việt: refused again, backs off 60 s
    assert routed(config, engine, at(5.9)) == 2
    assert flush(config, engine, at(5.9)) == (1, 0)  # the expert's recovery; Việt's waits behind its alert
    assert flush(config, engine, at(6.1)) == (2, 0)  # the alert, then its recovery
    viet = to(smtp, VIET)
    assert len(viet) == 3 and "YD-01" in viet[1] and "YD-01" in viet[2] and viet[2] != viet[1]
    order = [(r.recipient, r.kind, r.camera_id) for r in sorted(emails(engine), key=lambda r: r.sent_at)]
    assert order.index((VIET, "alert", "YD-01")) < order.index((VIET, "recovery", "YD-01"))


def test_what_waits_for_what_an_alert_before_its_recovery_and_a_communes_email_before_its_cameras() -> None:
    group = order_keys(1, VIET, None, {"cameras": [{"camera": "YD-01"}, {"camera": "YD-02"}]})
    assert order_keys(2, VIET, "YD-02", {}) & group  # YD-02's recovery waits for the commune's email
    assert not order_keys(3, VIET, "YD-05", {}) & group  # another camera's alert does not
    assert not order_keys(4, EXPERT, "YD-02", {}) & group  # nor another person's
    assert not order_keys(5, VIET, None, {}) & order_keys(6, VIET, None, {})  # two reports are independent


def test_a_failed_email_requeued_by_alerts_retry_is_delivered(tmp_path: Path, smtp: SmtpServer) -> None:
    config, engine = setup(tmp_path, smtp)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # `alerts flush` routes at the real time
    outage(engine, "YD-03", start)
    routed(config, engine, start + dt.timedelta(minutes=4))
    smtp.sink.reject = {VIET: "550 5.1.1 mailbox unavailable", EXPERT: "553 5.1.3 bad address"}
    cfg = str(tmp_path / "cameras.toml")
    assert camwatch("alerts", "flush", "-c", cfg).returncode == 1
    viet, expert = sorted(emails(engine), key=lambda r: r.recipient != VIET)
    assert viet.failed_permanently and expert.failed_permanently
    out = camwatch("alerts", "outbox", "-c", cfg).stdout
    assert "failed 2" in out and "camwatch alerts retry ID" in out, out
    smtp.sink.reject = {}  # the mailboxes are repaired
    r = camwatch("alerts", "retry", str(viet.id), "-c", cfg)
    assert r.returncode == 0 and f"pending again: {viet.id}" in r.stdout, r.stdout + r.stderr
    out = camwatch("alerts", "outbox", "-c", cfg).stdout
    assert "pending 1, sent 0, failed 1" in out and "pending (attempts 1) — recipient refused: 550" in out, out
    r = camwatch("alerts", "flush", "-c", cfg)
    assert r.returncode == 0 and "1 sent" in r.stdout, r.stdout + r.stderr
    assert len(to(smtp, VIET)) == 1 and to(smtp, EXPERT) == []
    r = camwatch("alerts", "retry", str(viet.id), "-c", cfg)
    assert r.returncode == 2 and f"delivery {viet.id} has not failed" in r.stderr, r.stderr
    assert camwatch("alerts", "retry", "-c", cfg).returncode == 2  # an id or --failed
    r = camwatch("alerts", "retry", "--failed", "-c", cfg)
    assert r.returncode == 0 and f"1 failed delivery(ies) pending again: {expert.id}" in r.stdout, r.stdout
    assert camwatch("alerts", "flush", "-c", cfg).returncode == 0
    assert len(to(smtp, VIET)) == 1 and len(to(smtp, EXPERT)) == 1
    assert "pending 0, sent 2, failed 0" in camwatch("alerts", "outbox", "-c", cfg).stdout


def test_an_email_claimed_by_a_killed_sender_goes_out_at_once(tmp_path: Path, smtp: SmtpServer) -> None:
    config, engine = setup(tmp_path, smtp, {"claim_timeout_s = 1": "claim_timeout_s = 300"})
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    outage(engine, "YD-04", start)
    routed(config, engine, start + dt.timedelta(minutes=4))
    with engine.begin() as conn:  # one recipient is enough here
        conn.execute(notifications.delete().where(notifications.c.recipient == EXPERT))
    smtp.sink.kill_pid_at = "rcpt"  # claimed, not yet sent
    cmd = [sys.executable, "-m", "camwatch", "alerts", "flush", "-c", str(tmp_path / "cameras.toml")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    smtp.sink.kill_pid = proc.pid
    assert proc.wait(60) == -9
    (row,) = emails(engine)
    assert row.sent_at is None and row.claimed_at is not None
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)  # well within the 5-minute claim
    assert r.returncode == 0 and "1 sent" in r.stdout, r.stdout + r.stderr
    assert len(smtp.sink.messages) == 1


@pytest.mark.slow
def test_sigterm_with_a_slow_mail_server_stops_within_seconds_and_sends_nothing_twice(
        tmp_path: Path, smtp: SmtpServer, fleet: Fleet) -> None:
    n = 20
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(config_text(tmp_path / "state", [("M1", "Ngã ba chợ", "yen-dinh", fleet.url("day"))],
                                 defaults="deadline_s = 6\nmax_deadline_s = 6", sections=f"""
[metrics]
enabled = false
[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
timeout_s = 20
"""), encoding="utf-8")
    config = cfgmod.load(cfg, secrets=False)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:  # a queue of emails waiting for the server
        conn.execute(insert(notifications), [
            {"created_at": now, "event": "email", "kind": "test", "recipient": f"kt{i:02d}@example.vn",
             "payload": {"kind": "test", "language": "vi"}, "attempts": 0} for i in range(n)])
    smtp.sink.data_delay_s = 3.0  # 20 emails: a minute of sending
    proc = start_daemon(cfg, tmp_path / "daemon.log", {"CAM_PASSWORD": PASSWORD})
    try:
        wait_for(lambda: smtp.sink.data_started >= 2, 90, "the daemon to be sending")
        proc.send_signal(signal.SIGTERM)
        try:  # the email in progress finishes (3 s); the unit allows 45 s before SIGKILL
            assert proc.wait(20) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("camwatch run did not stop within 20 s of SIGTERM: " + _tail(tmp_path / "daemon.log"))
    finally:
        stop_daemon(proc)
    accepted = len(smtp.sink.messages)
    with engine.connect() as conn:
        marked = list(conn.execute(select(notifications.c.id).where(notifications.c.sent_at.is_not(None))))
    assert accepted < n and len(marked) == accepted  # stopped mid-queue; what the server took is marked sent
    smtp.sink.data_delay_s = 0
    r = camwatch("alerts", "flush", "-c", str(cfg), env={"CAM_PASSWORD": PASSWORD})
    assert r.returncode == 0, r.stdout + r.stderr
    ids = [m["Message-ID"] for m in smtp.sink.messages]
    assert len(ids) == n and len(set(ids)) == n  # each email exactly once
    engine.dispose()


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-15:])

