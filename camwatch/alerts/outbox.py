"""The durable outbox: delivery. Routing (transitions → delivery rows) is in `routing.py`.

- `send_due()` claims a delivery row (an email or a webhook post) with a compare-and-set UPDATE (so several
  senders are safe), sends it, then marks it sent. A crash between claim and send: the claim expires and
  it goes out once. A crash after the server accepted it but before the mark: it goes out again after the
  claim expires, with the same Message-ID (email) or `X-Camwatch-Delivery` id (webhook), which lets the
  receiver drop the duplicate. That window (one round trip) is the only one, and is documented in the README.
- Each channel has its own queue: a mail server that is down holds the emails, not the webhook posts.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, and_, or_, select, update

from camwatch.alerts import messages
from camwatch.alerts.periodic import monthly_report
from camwatch.alerts.routing import recipients, route, tcp_reachable
from camwatch.alerts.smtp import TransportError
from camwatch.config import Config
from camwatch.store.schema import notifications

log = logging.getLogger(__name__)

Send = Callable[[EmailMessage], None]

__all__ = ["Channel", "EmailChannel", "backoff_s", "deliver", "message_id", "monthly_report", "recipients", "render",
           "route", "send_due", "tcp_reachable"]


class Channel(Protocol):
    event: str  # the outbox rows it delivers

    def deliver(self, row: Any) -> None:
        """Deliver one row or raise `TransportError`."""


class EmailChannel:
    event = "email"

    def __init__(self, send: Send, sender: str) -> None:
        self.send, self.sender = send, sender

    def deliver(self, row: Any) -> None:
        self.send(render(row, self.sender))


def message_id(row: Any, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "camwatch.local"
    return f"<camwatch.{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"


def pictures(row: Any) -> list[messages.Picture]:
    """The pictures a row names, by role; one that is gone from the disk is left out (and logged)."""
    out = []
    for p in row.payload.get("pictures") or []:
        try:
            path = Path(p["path"])
            data = path.read_bytes()
            taken = p.get("at")
            if p["role"] == "latest":  # the file is replaced at each check: its own time is the picture's
                taken = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat()
        except OSError as err:
            log.warning("camera=%s picture %s unavailable: %s", row.camera_id, p.get("path"), err.strerror)
            continue
        out.append(messages.Picture(p["role"], data, taken))
    return out


def render(row: Any, sender: str) -> EmailMessage:
    payload = dict(row.payload)
    attachments = []
    for path in payload.get("files") or []:
        try:
            attachments.append((Path(path).name, Path(path).read_bytes()))
        except OSError as err:
            log.warning("report file %s unavailable: %s", path, err.strerror)
    return messages.build(payload, sender, row.recipient, message_id(row, sender), attachments, pictures(row))


def backoff_s(attempts: int) -> float:
    return min(3600.0, 30.0 * 2 ** max(0, attempts - 1))


def sender_of(config: Config) -> str:
    return config.file.smtp.sender if config.file.smtp else "camwatch <camwatch@localhost>"


def send_due(engine: Engine, config: Config, send: Send | None, node: str, now: Callable[[], dt.datetime],
             limit: int = 200, channel: Channel | None = None) -> tuple[int, int]:
    """Claim, deliver and mark due rows of one channel (email through `send` unless `channel` is given), oldest
    first, in order per recipient. Returns (sent, failed)."""
    if channel is None:
        assert send is not None
        channel = EmailChannel(send, sender_of(config))
    a = config.file.alerts
    t = now()
    stale = t - dt.timedelta(seconds=a.claim_timeout_s)
    pending = and_(notifications.c.event == channel.event, notifications.c.sent_at.is_(None),
                   notifications.c.failed_permanently.is_(False))
    due = and_(pending, or_(notifications.c.not_before.is_(None), notifications.c.not_before <= t),
               or_(notifications.c.claimed_at.is_(None), notifications.c.claimed_at < stale))
    with engine.connect() as conn:
        rows = list(conn.execute(select(notifications.c.id, notifications.c.recipient, notifications.c.not_before,
                                        notifications.c.claimed_at).where(pending).order_by(notifications.c.id)
                                 .limit(limit)))
    blocked: set[str] = set()
    sent = failed = 0
    for r in rows:
        waiting = (r.not_before is not None and r.not_before > t) or (r.claimed_at is not None and r.claimed_at >= stale)
        if waiting or r.recipient in blocked:
            blocked.add(r.recipient)  # an earlier email to this address is waiting: keep the order
            continue
        with engine.begin() as conn:  # compare-and-set claim: exactly one sender wins
            claimed = conn.execute(update(notifications).where(notifications.c.id == r.id, due).values(
                claimed_at=now(), claimed_by=f"{node}:{os.getpid()}", attempts=notifications.c.attempts + 1)).rowcount
            row = conn.execute(select(notifications).where(notifications.c.id == r.id)).one() if claimed else None
        if row is None:
            continue
        try:
            channel.deliver(row)
        except TransportError as err:
            failed += 1
            permanent = err.permanent or row.attempts >= a.max_attempts
            retry_at = now() + dt.timedelta(seconds=backoff_s(row.attempts))
            with engine.begin() as conn:
                conn.execute(update(notifications).where(notifications.c.id == r.id).values(
                    last_error=str(err)[:500], claimed_at=None, failed_permanently=permanent, not_before=retry_at))
                if err.server:  # the server is down: every row of the channel waits, to go out in order when it returns
                    conn.execute(update(notifications).where(pending, or_(
                        notifications.c.not_before.is_(None), notifications.c.not_before < retry_at)).values(
                        not_before=retry_at, last_error=str(err)[:500]))
            log.warning("%s %d to %s failed (attempt %d%s): %s", channel.event, r.id, row.recipient, row.attempts,
                        ", giving up" if permanent else "", err)
            if err.server:
                break
            blocked.add(r.recipient)
            continue
        with engine.begin() as conn:
            conn.execute(update(notifications).where(notifications.c.id == r.id).values(sent_at=now(), last_error=None))
        sent += 1
        log.info("%s %d sent to %s (%s)", channel.event, r.id, row.recipient, row.kind)
    return sent, failed


def deliver(engine: Engine, config: Config, send: Send | None, node: str, now: Callable[[], dt.datetime]) -> int:
    """The daemon's alert job: route due transitions, the monthly report, then send what is due by email (SMTP
    as configured, unless `send` is given) and by webhook. Several nodes may run it at once safely.
    Returns the number of failed deliveries."""
    with engine.begin() as conn:
        route(conn, config, now())
    if config.file.report.monthly_to:
        with engine.begin() as conn:
            monthly_report(conn, config, now(), config.state_dir / "reports")
    failed = 0
    if send is not None or config.file.smtp is not None:
        if send is None:
            from camwatch.alerts.smtp import SmtpTransport

            send = SmtpTransport.from_config(config).send
        failed += send_due(engine, config, send, node, now)[1]
    if config.file.webhook is not None:
        from camwatch.alerts.webhook import WebhookChannel

        failed += send_due(engine, config, None, node, now, channel=WebhookChannel.from_config(config))[1]
    return failed
