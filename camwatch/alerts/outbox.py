"""The durable outbox: transitions become emails (routing), emails are claimed, sent and marked.

- Transition rows (`event` opened/closed/flapping, no recipient) are written by the check's own
  transaction. `route()` turns them into one email row per recipient, grouping a commune's cameras
  that go down together, holding picture problems for `degraded_delay_s`, never sending a recovery
  without the alert it recovers from; it also writes reminders and escalations for open incidents.
- `send_due()` claims an email row with a compare-and-set UPDATE (so several senders are safe), sends
  it, then marks it sent. A crash between claim and send: the claim expires and the email goes out
  once. A crash after the server accepted it but before the mark: it goes out again after the claim
  expires, with the same Message-ID, which lets mail servers and clients drop the duplicate. That
  window (one SMTP round trip) is the only one, and is documented in the README.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import defaultdict
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from camwatch.alerts import messages
from camwatch.alerts.smtp import TransportError
from camwatch.config import Config, ResolvedCamera, Technician
from camwatch.store import repo
from camwatch.store.schema import incidents, notifications

log = logging.getLogger(__name__)

Send = Callable[[EmailMessage], None]


# ---------------------------------------------------------------- routing

def recipients(config: Config, cam: ResolvedCamera) -> list[Technician]:
    """The commune's technicians plus the camera's own, each once."""
    techs = {t.id: t for t in config.file.technicians}
    ids = [*cam.commune.technicians, *cam.cfg.technicians]
    return [techs[i] for i in dict.fromkeys(ids) if i in techs and techs[i].email]


def _lang(config: Config, t: Technician) -> str:
    return t.language or config.district.language


def _camera_payload(config: Config, cam: ResolvedCamera, inc: Any) -> dict[str, Any]:
    snaps = [p for p in (inc.last_good_snapshot, inc.first_bad_snapshot) if p]
    return {"camera": cam.id, "name": cam.cfg.name, "commune": cam.cfg.commune, "commune_name": cam.commune.name,
            "location": cam.cfg.location, "gps": list(cam.cfg.gps) if cam.cfg.gps else None, "verdict": inc.kind,
            "severity": inc.severity, "reason": inc.reason, "started_at": inc.started_at.isoformat(),
            "closed_at": inc.closed_at.isoformat() if inc.closed_at else None, "incident": inc.id,
            "snapshots": snaps, "timezone": config.district.timezone,
            "grafana_url": config.file.alerts.grafana_url}


def _email(conn: Connection, now: dt.datetime, kind: str, to: Technician, lang: str, payload: dict[str, Any],
           incident_id: int | None, camera_id: str | None) -> None:
    conn.execute(insert(notifications).values(
        created_at=now, incident_id=incident_id, camera_id=camera_id, event="email", kind=kind, recipient=to.email,
        payload={**payload, "kind": kind, "language": lang, "to_name": to.name}, attempts=0))


def _done(conn: Connection, event_id: int, now: dt.datetime, note: str) -> None:
    conn.execute(update(notifications).where(notifications.c.id == event_id).values(
        sent_at=now, claimed_by="router", last_error=note))


def tcp_reachable(target: str, timeout_s: float = 3.0) -> bool:
    """Is the commune's upstream device answering? A TCP connect (port 80 unless given)."""
    import socket

    host, _, port = target.rpartition(":") if target.count(":") == 1 else (target, "", "")
    try:
        with socket.create_connection((host, int(port or 80)), timeout=timeout_s):
            return True
    except OSError:
        return False


def route(conn: Connection, config: Config, now: dt.datetime,
          reachable: Callable[[str], bool] = tcp_reachable) -> int:
    """Turn due transitions into email rows, and add reminders, escalations and digests. Returns emails written."""
    a = config.file.alerts
    written = 0
    repo.exclusive(conn, repo.LOCK_ROUTING)  # several nodes: one routes at a time, the others then see it done
    events = list(conn.execute(select(notifications).where(
        notifications.c.recipient.is_(None), notifications.c.sent_at.is_(None), notifications.c.event != "email",
    ).order_by(notifications.c.id)))
    incs = {r.id: r for r in conn.execute(select(incidents).where(
        incidents.c.id.in_({e.incident_id for e in events if e.incident_id is not None})))}
    opened: dict[str, list[tuple[Any, Any, ResolvedCamera]]] = defaultdict(list)
    closed: dict[str, list[tuple[Any, Any, ResolvedCamera]]] = defaultdict(list)
    commune_due: set[str] = set()
    window = dt.timedelta(seconds=a.group_window_s)
    for ev in events:
        cam = config.cameras.get(ev.camera_id or "")
        inc = incs.get(ev.incident_id) if ev.incident_id is not None else None
        if cam is None:
            _done(conn, ev.id, now, "camera retired or removed: no email")
            continue
        if ev.event == "flapping":
            for t in recipients(config, cam):
                _email(conn, now, "flapping", t, _lang(config, t), _camera_payload(config, cam, inc) if inc else
                       {"camera": cam.id, "name": cam.cfg.name, "commune_name": cam.commune.name,
                        "timezone": config.district.timezone}, ev.incident_id, cam.id)
                written += 1
            _done(conn, ev.id, now, "")
            continue
        if inc is None:
            _done(conn, ev.id, now, "no incident")
            continue
        if ev.event == "opened":
            delay = window if inc.severity == "down" else max(window, dt.timedelta(seconds=a.degraded_delay_s))
            if inc.severity == "down":
                opened[cam.cfg.commune].append((ev, inc, cam))
                if now >= ev.created_at + delay:
                    commune_due.add(cam.cfg.commune)
                continue
            if now < ev.created_at + delay:
                continue
            if inc.closed_at is not None:
                _done(conn, ev.id, now, "closed before the alert was due: no email")
                continue
            written += _alert(conn, config, now, ev, inc, cam)
        elif ev.event == "closed":
            pending_open = any(e.incident_id == ev.incident_id and e.event == "opened" for e in events)
            if pending_open:
                continue  # decided with its opened event
            if inc.notified_at is None:
                _done(conn, ev.id, now, "the alert was never sent: no recovery email")
                continue
            if now >= ev.created_at + window:
                closed[cam.cfg.commune].append((ev, inc, cam))
    for commune in commune_due:  # the first of a commune's outages is due: everything pending goes, grouped
        batch = opened[commune]
        live = [(ev, inc, cam) for ev, inc, cam in batch if inc.closed_at is None]
        for ev, inc, _ in batch:
            if inc.closed_at is not None:
                _done(conn, ev.id, now, "closed before the alert was due: no email")
        upstream = config.commune(commune).upstream
        if live and upstream and not reachable(upstream):
            written += _group(conn, config, now, live, "upstream", {"upstream": upstream})
        elif len(live) >= a.group_threshold:
            written += _group(conn, config, now, live, "group")
        else:
            for ev, inc, cam in live:
                written += _alert(conn, config, now, ev, inc, cam)
    for _commune, batch in closed.items():
        if len(batch) >= a.group_threshold and all(inc.notified_at for _, inc, _ in batch):
            written += _group(conn, config, now, batch, "group_recovery")
        else:
            for ev, inc, cam in batch:
                for t in recipients(config, cam):
                    _email(conn, now, "recovery", t, _lang(config, t), _camera_payload(config, cam, inc), inc.id, cam.id)
                    written += 1
                _done(conn, ev.id, now, "")
    written += _reminders(conn, config, now)
    written += _digests(conn, config, now)
    return written


def _digests(conn: Connection, config: Config, now: dt.datetime) -> int:
    """Once a day at `daily_digest_at` (local time), per commune, what is still open."""
    from zoneinfo import ZoneInfo

    at = config.file.alerts.daily_digest_at
    if not at:
        return 0
    tz = ZoneInfo(config.district.timezone)
    local = now.astimezone(tz)
    h, m = map(int, at.split(":"))
    if (local.hour, local.minute) < (h, m):
        return 0
    day = local.date().isoformat()
    open_incs = list(conn.execute(select(incidents).where(incidents.c.closed_at.is_(None))))
    n = 0
    for commune in config.file.communes:
        key = f"digest:{commune.id}:{day}"
        if conn.execute(select(notifications.c.id).where(notifications.c.camera_id == key)).first() is not None:
            continue
        cams = {c.id: c for c in config.cameras.values() if c.cfg.commune == commune.id}
        rows = [i for i in open_incs if i.camera_id in cams]
        payload = {"commune": commune.id, "commune_name": commune.name, "timezone": config.district.timezone,
                   "day": day, "grafana_url": config.file.alerts.grafana_url, "total": len(cams),
                   "cameras": [{"camera": i.camera_id, "name": cams[i.camera_id].cfg.name, "kind": i.kind,
                                "incident": i.id, "started_at": i.started_at.isoformat(), "closed_at": None}
                               for i in sorted(rows, key=lambda r: r.camera_id)]}
        techs = {t.id: t for cam in cams.values() for t in recipients(config, cam)}
        if not techs:
            techs = {t.id: t for t in config.file.technicians if t.id in commune.technicians and t.email}
        for t in techs.values():
            _email(conn, now, "digest", t, _lang(config, t), payload, None, key)
            n += 1
        if not techs:  # remember the day anyway
            conn.execute(insert(notifications).values(created_at=now, camera_id=key, event="digest", payload={},
                                                      sent_at=now, claimed_by="router", attempts=0))
    return n


def _alert(conn: Connection, config: Config, now: dt.datetime, ev: Any, inc: Any, cam: ResolvedCamera) -> int:
    n = 0
    for t in recipients(config, cam):
        _email(conn, now, "alert", t, _lang(config, t), _camera_payload(config, cam, inc), inc.id, cam.id)
        n += 1
    conn.execute(update(incidents).where(incidents.c.id == inc.id).values(notified_at=now))
    _done(conn, ev.id, now, "")
    return n


def _group(conn: Connection, config: Config, now: dt.datetime, batch: list[tuple[Any, Any, ResolvedCamera]],
           kind: str, extra: dict[str, Any] | None = None) -> int:
    cam0 = batch[0][2]
    techs: dict[str, Technician] = {}
    for _, _, cam in batch:
        techs.update({t.id: t for t in recipients(config, cam)})
    payload = {"commune": cam0.cfg.commune, "commune_name": cam0.commune.name, "timezone": config.district.timezone,
               "started_at": min(inc.started_at for _, inc, _ in batch).isoformat(),
               "grafana_url": config.file.alerts.grafana_url,
               "cameras": [{"camera": cam.id, "name": cam.cfg.name, "kind": inc.kind, "incident": inc.id,
                            "started_at": inc.started_at.isoformat(),
                            "closed_at": inc.closed_at.isoformat() if inc.closed_at else None}
                           for _, inc, cam in sorted(batch, key=lambda b: b[2].id)], **(extra or {})}
    for t in techs.values():
        _email(conn, now, kind, t, _lang(config, t), payload, None, None)
    for ev, inc, _ in batch:
        if kind in ("group", "upstream"):
            conn.execute(update(incidents).where(incidents.c.id == inc.id).values(notified_at=now))
        _done(conn, ev.id, now, f"sent as one {kind} email")
    return len(techs)


def _reminders(conn: Connection, config: Config, now: dt.datetime) -> int:
    a = config.file.alerts
    n = 0
    every = dt.timedelta(hours=a.reminder_every_h)
    techs = {t.id: t for t in config.file.technicians}
    district = [techs[i] for i in a.escalation if i in techs and techs[i].email]
    for inc in conn.execute(select(incidents).where(incidents.c.closed_at.is_(None), incidents.c.notified_at.is_not(None))):
        cam = config.cameras.get(inc.camera_id)
        if cam is None:
            continue
        planned = config.maintenance_windows(cam.id, cam.cfg.commune, now, now + dt.timedelta(seconds=1))
        if repo.in_maintenance(conn, cam.id, cam.cfg.commune, now, planned):
            continue
        payload = {**_camera_payload(config, cam, inc), "now": now.isoformat()}
        if now - (inc.reminded_at or inc.notified_at) >= every:
            for t in recipients(config, cam):
                _email(conn, now, "reminder", t, _lang(config, t), payload, inc.id, cam.id)
                n += 1
            conn.execute(update(incidents).where(incidents.c.id == inc.id).values(reminded_at=now))
        if inc.escalated_at is None and now - inc.started_at >= dt.timedelta(hours=a.escalate_after_h):
            for t in district:
                _email(conn, now, "escalation", t, _lang(config, t), payload, inc.id, cam.id)
                n += 1
            conn.execute(update(incidents).where(incidents.c.id == inc.id).values(escalated_at=now))
    return n


def monthly_report(conn: Connection, config: Config, now: dt.datetime, directory: Path) -> int:
    """On or after the 1st, the previous month's report for `report.monthly_to`, once per month."""
    from zoneinfo import ZoneInfo

    from camwatch import report

    to = [t for t in config.file.technicians if t.id in config.file.report.monthly_to and t.email]
    if not to:
        return 0
    tz = ZoneInfo(config.district.timezone)
    repo.exclusive(conn, repo.LOCK_REPORT)
    first = now.astimezone(tz).date().replace(day=1)
    last_month_end = first - dt.timedelta(days=1)
    key = last_month_end.strftime("%Y-%m")
    done = conn.execute(select(notifications.c.id).where(notifications.c.kind == "report",
                                                         notifications.c.camera_id == f"report:{key}")).first()
    if done is not None:
        return 0
    start, end = report.period(last_month_end.replace(day=1), last_month_end, tz)
    r = report.build(conn, config, start, end, now)
    fmt = config.file.report.format
    directory.mkdir(parents=True, exist_ok=True)
    n = 0
    for t in to:
        lang = _lang(config, t)
        path = directory / report.file_name(r, fmt, lang)
        if not path.exists():
            report.write(r, fmt, lang, path)
        _email(conn, now, "report", t, lang, {"month": key, "timezone": config.district.timezone,
                                              "district": config.district.name, "availability": r.availability,
                                              "files": [str(path)]}, None, f"report:{key}")
        n += 1
    return n


# ---------------------------------------------------------------- delivery

def message_id(row: Any, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "camwatch.local"
    return f"<camwatch.{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"


def render(row: Any, sender: str) -> EmailMessage:
    payload = dict(row.payload)
    attachments = []
    for i, path in enumerate(payload.get("snapshots") or []):
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            log.warning("camera=%s snapshot %s unavailable: %s", row.camera_id, path, err.strerror)
            continue
        name = ("anh-tot-gan-nhat.jpg", "anh-su-co.jpg") if payload.get("language") == "vi" else ("last-good.jpg",
                                                                                                "problem.jpg")
        attachments.append((name[min(i, 1)], data))
    for path in payload.get("files") or []:
        try:
            attachments.append((Path(path).name, Path(path).read_bytes()))
        except OSError as err:
            log.warning("report file %s unavailable: %s", path, err.strerror)
    return messages.build(payload, sender, row.recipient, message_id(row, sender), attachments)


def backoff_s(attempts: int) -> float:
    return min(3600.0, 30.0 * 2 ** max(0, attempts - 1))


def send_due(engine: Engine, config: Config, send: Send, node: str, now: Callable[[], dt.datetime],
             limit: int = 200) -> tuple[int, int]:
    """Claim, send and mark due emails, oldest first, in order per recipient. Returns (sent, failed)."""
    a = config.file.alerts
    sender = config.file.smtp.sender if config.file.smtp else "camwatch <camwatch@localhost>"
    t = now()
    stale = t - dt.timedelta(seconds=a.claim_timeout_s)
    pending = and_(notifications.c.event == "email", notifications.c.sent_at.is_(None),
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
            send(render(row, sender))
        except TransportError as err:
            failed += 1
            permanent = err.permanent or row.attempts >= a.max_attempts
            retry_at = now() + dt.timedelta(seconds=backoff_s(row.attempts))
            with engine.begin() as conn:
                conn.execute(update(notifications).where(notifications.c.id == r.id).values(
                    last_error=str(err)[:500], claimed_at=None, failed_permanently=permanent, not_before=retry_at))
                if err.server:  # the server is down: every email waits, so they go out in order when it returns
                    conn.execute(update(notifications).where(pending, or_(
                        notifications.c.not_before.is_(None), notifications.c.not_before < retry_at)).values(
                        not_before=retry_at, last_error=str(err)[:500]))
            log.warning("email %d to %s failed (attempt %d%s): %s", r.id, row.recipient, row.attempts,
                        ", giving up" if permanent else "", err)
            if err.server:
                break
            blocked.add(r.recipient)
            continue
        with engine.begin() as conn:
            conn.execute(update(notifications).where(notifications.c.id == r.id).values(sent_at=now(), last_error=None))
        sent += 1
        log.info("email %d sent to %s (%s)", r.id, row.recipient, row.kind)
    return sent, failed


def deliver(engine: Engine, config: Config, send: Send | None, node: str, now: Callable[[], dt.datetime]) -> int:
    """The daemon's alert job: route due transitions into emails, the monthly report, then send what is due
    (by SMTP as configured, unless `send` is given). Several nodes may run it at once safely.
    Returns the number of failed deliveries."""
    if send is None:
        from camwatch.alerts.smtp import SmtpTransport

        send = SmtpTransport.from_config(config).send
    with engine.begin() as conn:
        route(conn, config, now())
    if config.file.report.monthly_to:
        with engine.begin() as conn:
            monthly_report(conn, config, now(), config.state_dir / "reports")
    return send_due(engine, config, send, node, now)[1]
