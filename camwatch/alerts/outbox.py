"""The durable outbox: delivery. Routing (transitions → delivery rows) is in `routing.py`.

- `send_due()` claims a delivery row (an email or a webhook post) with a compare-and-set UPDATE (so several
  senders are safe), sends it, then marks it sent. A crash between claim and send: it goes out once, at
  once when the claim's process is known to be dead (`claims.py`: on this machine), else when the claim
  expires. A crash after the server accepted it but before the mark: it goes out again, with the same
  Message-ID (email) or `X-Camwatch-Delivery` id (webhook), which lets the receiver drop the duplicate. That
  window (one round trip) is the only one, and is documented in the README.
- Failures are told apart (`after_failure`): a refused recipient is permanent; a refusal of this delivery
  by a server that answered is retried with its own backoff and counts toward `max_attempts`; a server
  that is down or failing holds the whole channel for at most `SERVER_RETRY_MAX_S`, however long it stays
  down, and never counts. One delivery waiting holds back only the later ones to the same recipient about
  the same camera (an alert before its recovery), not the others.
- `stop` (the daemon's SIGTERM): the delivery in progress finishes, no new one starts.
- Each channel has its own queue: a mail server that is down holds the emails, not the webhook posts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, or_, select, update

from camwatch.alerts import claims, messages
from camwatch.alerts.periodic import monthly_report
from camwatch.alerts.routing import recipients, route, tcp_reachable
from camwatch.alerts.smtp import TransportError
from camwatch.config import Config
from camwatch.store.repo import DELIVERIES
from camwatch.store.schema import notifications

log = logging.getLogger(__name__)

Send = Callable[[EmailMessage], None]

SERVER_RETRY_MAX_S = 60.0  # a server that is down is tried again at least this often, however long it stays down

__all__ = ["Channel", "EmailChannel", "after_failure", "backoff_s", "deliver", "message_id", "monthly_report",
           "order_keys", "recipients", "render", "requeue", "route", "send_due", "tcp_reachable"]


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
    return min(3600.0, 30.0 * 2 ** min(max(0, attempts - 1), 16))


@dataclass(frozen=True)
class Failure:
    permanent: bool
    refusals: int  # the server's refusals of this delivery so far (what `max_attempts` counts)
    retry_in_s: float


def after_failure(err: TransportError, tries: int, refusals: int, max_attempts: int) -> Failure:
    """What a failed delivery becomes. Pure. Only a server's answer about this delivery counts toward
    `max_attempts`; a server that is down (or says 421) is tried again at a steady pace however long it stays
    down, and an outage loses nothing."""
    if err.server:
        return Failure(False, refusals, min(SERVER_RETRY_MAX_S, backoff_s(tries)))
    n = refusals + 1
    return Failure(err.permanent or n >= max_attempts, n, backoff_s(n))


def order_keys(row_id: int, recipient: str, camera_id: str | None, payload: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """What a delivery keeps its order with: the earlier ones to the same recipient about the same camera (an
    alert before its recovery, a commune's email before a recovery of one of its cameras). Pure."""
    cams = {camera_id} if camera_id else {c["camera"] for c in payload.get("cameras") or [] if c.get("camera")}
    return frozenset((recipient, c) for c in cams) or frozenset({(recipient, f"#{row_id}")})


def sender_of(config: Config) -> str:
    return config.file.smtp.sender if config.file.smtp else "camwatch <camwatch@localhost>"


def send_due(engine: Engine, config: Config, send: Send | None, node: str, now: Callable[[], dt.datetime],
             limit: int = 200, channel: Channel | None = None,
             stop: threading.Event | None = None) -> tuple[int, int]:
    """Claim, deliver and mark due rows of one channel (email through `send` unless `channel` is given), oldest
    first, in order per recipient and camera; until `stop` is set. Returns (sent, failed)."""
    if channel is None:
        assert send is not None
        channel = EmailChannel(send, sender_of(config))
    a = config.file.alerts
    n = notifications.c
    t = now()
    stale = t - dt.timedelta(seconds=a.claim_timeout_s)
    pending = and_(n.event == channel.event, n.sent_at.is_(None), n.failed_permanently.is_(False))
    due = and_(pending, or_(n.not_before.is_(None), n.not_before <= t))
    with engine.connect() as conn:
        rows = list(conn.execute(select(n.id, n.recipient, n.camera_id, n.payload, n.not_before, n.claimed_at,
                                        n.claimed_by).where(pending).order_by(n.id).limit(limit)))
    me = claims.token(node)
    held: set[tuple[str, str]] = set()
    sent = failed = 0
    for r in rows:
        if stop is not None and stop.is_set():
            break  # stopping: the delivery in progress has finished, no new one starts
        keys = order_keys(r.id, r.recipient, r.camera_id, r.payload or {})
        free = or_(n.claimed_at.is_(None), n.claimed_at < stale)
        revived = r.claimed_at is not None and r.claimed_at >= stale and claims.dead(r.claimed_by)
        if revived:
            free = or_(free, n.claimed_by == r.claimed_by)  # its sender died: at once, not after the timeout
        elif r.claimed_at is not None and r.claimed_at >= stale:
            held |= keys  # being sent by someone else
            continue
        if (r.not_before is not None and r.not_before > t) or keys & held:
            held |= keys  # it waits, and so do the later ones it keeps its order with
            continue
        with engine.begin() as conn:  # compare-and-set claim: exactly one sender wins
            claimed = conn.execute(update(notifications).where(n.id == r.id, due, free).values(
                claimed_at=now(), claimed_by=me, attempts=n.attempts + 1)).rowcount
            row = conn.execute(select(notifications).where(n.id == r.id)).one() if claimed else None
        if row is None:
            held |= keys
            continue
        if revived:
            log.info("%s %d: its sender (%s) is gone: sending it again", channel.event, r.id, r.claimed_by)
        try:
            channel.deliver(row)
        except TransportError as err:
            failed += 1
            f = after_failure(err, row.attempts, row.refusals, a.max_attempts)
            retry_at = now() + dt.timedelta(seconds=f.retry_in_s)
            with engine.begin() as conn:
                conn.execute(update(notifications).where(n.id == r.id).values(
                    last_error=str(err)[:500], claimed_at=None, failed_permanently=f.permanent, refusals=f.refusals,
                    not_before=retry_at))
                if err.server:  # the server is down: the channel waits (briefly), to go out in order when it returns
                    conn.execute(update(notifications).where(pending, or_(
                        n.not_before.is_(None), n.not_before < retry_at)).values(
                        not_before=retry_at, last_error=str(err)[:500]))
            log.warning("%s %d to %s failed (%s%s): %s", channel.event, r.id, row.recipient,
                        "server failing, not counted" if err.server else f"refused {f.refusals} of {a.max_attempts}",
                        ", giving up" if f.permanent else f", again in {f.retry_in_s:.0f} s", err)
            if err.server:
                break
            held |= keys
            continue
        with engine.begin() as conn:
            conn.execute(update(notifications).where(n.id == r.id).values(sent_at=now(), last_error=None))
        sent += 1
        log.info("%s %d sent to %s (%s)", channel.event, r.id, row.recipient, row.kind)
    return sent, failed


def requeue(conn: Connection, ids: list[int] | None) -> list[int]:
    """`camwatch alerts retry`: failed deliveries (all, or these ids) pending again and due now, their refusals
    forgotten; attempts and the last error stay for the record. Returns the ids re-queued."""
    n = notifications.c
    failed = and_(n.event.in_(DELIVERIES), n.sent_at.is_(None), n.failed_permanently.is_(True))
    if ids is not None:
        failed = and_(failed, n.id.in_(ids))
    found = [r.id for r in conn.execute(select(n.id).where(failed).order_by(n.id))]
    if found:
        conn.execute(update(notifications).where(n.id.in_(found)).values(
            failed_permanently=False, refusals=0, not_before=None, claimed_at=None))
    return found


def deliver(engine: Engine, config: Config, send: Send | None, node: str, now: Callable[[], dt.datetime],
            stop: threading.Event | None = None) -> int:
    """The daemon's alert job: route due transitions, the monthly report, then send what is due by email (SMTP
    as configured, unless `send` is given) and by webhook, until `stop` is set. Several nodes may run it at
    once safely. Returns the number of failed deliveries."""
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
        failed += send_due(engine, config, send, node, now, stop=stop)[1]
    if config.file.webhook is not None and not (stop is not None and stop.is_set()):
        from camwatch.alerts.webhook import WebhookChannel

        failed += send_due(engine, config, None, node, now, channel=WebhookChannel.from_config(config), stop=stop)[1]
    return failed
