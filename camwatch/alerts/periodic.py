"""What the router adds on a schedule: reminders and escalations of open incidents, the daily digest, the
monthly report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Connection, insert, select, update

from camwatch.alerts.routing import camera_payload, notify_all, reachable_by, recipients
from camwatch.config import Config
from camwatch.store import acks, repo
from camwatch.store.schema import incidents, notifications


def reminders(conn: Connection, config: Config, now: dt.datetime, muted: dict[str, dt.datetime]) -> int:
    """Every `reminder_every_h` while open, unless acknowledged, muted or in maintenance; the district team once
    after `escalate_after_h`, acknowledged or not (an acknowledged outage that lasts is still the district's)."""
    a = config.file.alerts
    n = 0
    every = dt.timedelta(hours=a.reminder_every_h)
    techs = {t.id: t for t in config.file.technicians}
    district = [techs[i] for i in a.escalation if i in techs and reachable_by(config, techs[i])]
    for inc in conn.execute(select(incidents).where(incidents.c.closed_at.is_(None), incidents.c.notified_at.is_not(None))):
        cam = config.cameras.get(inc.camera_id)
        if cam is None:
            continue
        planned = config.maintenance_windows(cam.id, cam.cfg.commune, now, now + dt.timedelta(seconds=1))
        if repo.in_maintenance(conn, cam.id, cam.cfg.commune, now, planned):
            continue
        reminder_due = now - (inc.reminded_at or inc.notified_at) >= every
        escalation_due = inc.escalated_at is None and now - inc.started_at >= dt.timedelta(hours=a.escalate_after_h)
        if not (reminder_due or escalation_due):
            continue
        payload = {**camera_payload(config, cam, inc), "now": now.isoformat()}
        path, taken = acks.latest_picture(conn, cam.id)
        if path and taken and taken > inc.started_at:  # what the camera shows now, when it shows something
            payload["pictures"] = [*payload["pictures"], {"role": "latest", "path": path, "at": taken.isoformat()}]
        if cam.id in muted:
            payload["muted_until"] = muted[cam.id].isoformat()
        if reminder_due and not inc.acknowledged and cam.id not in muted:
            n += notify_all(conn, config, now, "reminder", recipients(config, cam), payload, inc.id, cam.id)
            conn.execute(update(incidents).where(incidents.c.id == inc.id).values(reminded_at=now))
        if escalation_due:
            n += notify_all(conn, config, now, "escalation", district, payload, inc.id, cam.id)
            conn.execute(update(incidents).where(incidents.c.id == inc.id).values(escalated_at=now))
    return n


def digests(conn: Connection, config: Config, now: dt.datetime) -> int:
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
            techs = {t.id: t for t in config.file.technicians if t.id in commune.technicians and reachable_by(config, t)}
        n += notify_all(conn, config, now, "digest", list(techs.values()), payload, None, key)
        if not techs:  # remember the day anyway
            conn.execute(insert(notifications).values(created_at=now, camera_id=key, event="digest", payload={},
                                                      sent_at=now, claimed_by="router", attempts=0))
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
        lang = t.language or config.district.language
        path = directory / report.file_name(r, fmt, lang)
        if not path.exists():
            report.write(r, fmt, lang, path)
        conn.execute(insert(notifications).values(
            created_at=now, camera_id=f"report:{key}", event="email", kind="report", recipient=t.email, attempts=0,
            payload={"kind": "report", "language": lang, "to_name": t.name, "month": key, "files": [str(path)],
                     "timezone": config.district.timezone, "district": config.district.name,
                     "availability": r.availability}))
        n += 1
    return n
