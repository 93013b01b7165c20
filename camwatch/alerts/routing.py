"""Routing: transition rows become deliveries (an email and/or a webhook post per technician).

Transition rows (`event` opened/closed/flapping/steady, no recipient) are written by the check's own
transaction. `route()` turns them into one delivery row per technician and channel, in one transaction:

- a commune's cameras going down within `group_window_s` make one email when they are at least
  `group_threshold`, or when they are every camera of the commune (two of two);
- picture problems wait `degraded_delay_s`; a recovery is never sent without the alert it recovers from;
- storm control: a flapping camera gets one "unstable" email, then nothing (its opens and closes are
  marked summarised) until it has been stable for `flap_stable_s`, then one summary;
- a muted camera's transitions wait until the mute ends (then they are decided as usual: an outage
  repaired meanwhile sends nothing).

Reminders, escalations, digests and the monthly report are in `periodic.py`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, insert, select, update

from camwatch.config import Config, ResolvedCamera, Technician
from camwatch.store import acks, repo
from camwatch.store.schema import incidents, notifications

Batch = list[tuple[Any, Any, ResolvedCamera]]


def reachable_by(config: Config, t: Technician) -> bool:
    """Whether some channel of this technician can reach them."""
    return ("email" in t.channels and bool(t.email)) or ("webhook" in t.channels and config.file.webhook is not None)


def recipients(config: Config, cam: ResolvedCamera) -> list[Technician]:
    """The commune's technicians plus the camera's own, each once."""
    techs = {t.id: t for t in config.file.technicians}
    ids = [*cam.commune.technicians, *cam.cfg.technicians]
    return [techs[i] for i in dict.fromkeys(ids) if i in techs and reachable_by(config, techs[i])]


def district_team(config: Config) -> list[Technician]:
    """The district team (`[alerts] escalation`): told what is the district's, not a commune's."""
    techs = {t.id: t for t in config.file.technicians}
    return [techs[i] for i in config.file.alerts.escalation if i in techs and reachable_by(config, techs[i])]


def notify(conn: Connection, config: Config, now: dt.datetime, kind: str, to: Technician, payload: dict[str, Any],
           incident_id: int | None, camera_id: str | None) -> int:
    """One delivery row per channel the technician chose; returns how many."""
    lang = to.language or config.district.language
    full = {**payload, "kind": kind, "language": lang, "to_name": to.name, "technician": to.id}
    rows = []
    if "email" in to.channels and to.email:
        rows.append(("email", to.email))
    if "webhook" in to.channels and config.file.webhook is not None:
        rows.append(("webhook", f"webhook:{to.id}"))
    for event, recipient in rows:
        conn.execute(insert(notifications).values(
            created_at=now, incident_id=incident_id, camera_id=camera_id, event=event, kind=kind, recipient=recipient,
            payload=full, attempts=0))
    return len(rows)


def notify_all(conn: Connection, config: Config, now: dt.datetime, kind: str, techs: list[Technician],
               payload: dict[str, Any], incident_id: int | None, camera_id: str | None) -> int:
    return sum(notify(conn, config, now, kind, t, payload, incident_id, camera_id) for t in techs)


def done(conn: Connection, event_id: int, now: dt.datetime, note: str) -> None:
    conn.execute(update(notifications).where(notifications.c.id == event_id).values(
        sent_at=now, claimed_by="router", last_error=note))


def camera_host(cam: ResolvedCamera) -> tuple[str, str | None]:
    """(how the camera is checked, its host:port): never credentials."""
    source = cam.source
    url = cam.cfg.snapshot_url if source == "snapshot" else cam.cfg.rtsp_url
    if url:
        parts = urlsplit(url)
        port = parts.port or {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}.get(parts.scheme)
        return source, f"{parts.hostname}:{port}" if port else parts.hostname
    return source, cam.cfg.onvif.host if cam.cfg.onvif else None


def camera_base(config: Config, cam: ResolvedCamera) -> dict[str, Any]:
    source, host = camera_host(cam)
    return {"camera": cam.id, "name": cam.cfg.name, "commune": cam.cfg.commune, "commune_name": cam.commune.name,
            "location": cam.cfg.location, "gps": list(cam.cfg.gps) if cam.cfg.gps else None, "source": source,
            "host": host, "timezone": config.district.timezone, "grafana_url": config.file.alerts.grafana_url}


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at else None


def camera_payload(config: Config, cam: ResolvedCamera, inc: Any) -> dict[str, Any]:
    """What an email about one camera's incident says; each picture with what it is and when it was taken."""
    pictures = []
    if inc.last_good_snapshot:
        pictures.append({"role": "last_good", "path": inc.last_good_snapshot, "at": _iso(inc.last_good_at)})
    if inc.first_bad_snapshot:
        pictures.append({"role": "first_bad", "path": inc.first_bad_snapshot, "at": _iso(inc.started_at)})
    p = {**camera_base(config, cam), "verdict": inc.kind, "severity": inc.severity, "reason": inc.reason,
         "started_at": inc.started_at.isoformat(), "closed_at": _iso(inc.closed_at), "incident": inc.id,
         "pictures": pictures}
    if inc.acknowledged:
        p.update(acknowledged_by=inc.acknowledged_by, acknowledged_at=_iso(inc.acknowledged_at), ack_note=inc.ack_note)
    return p


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
    """Turn due transitions into deliveries, and add reminders, escalations and digests. Returns rows written."""
    from camwatch.alerts import periodic

    a = config.file.alerts
    written = 0
    repo.exclusive(conn, repo.LOCK_ROUTING)  # several nodes: one routes at a time, the others then see it done
    events = list(conn.execute(select(notifications).where(
        notifications.c.recipient.is_(None), notifications.c.sent_at.is_(None),
        notifications.c.event.in_(("opened", "closed", "flapping", "steady")),
    ).order_by(notifications.c.id)))
    incs = {r.id: r for r in conn.execute(select(incidents).where(
        incidents.c.id.in_({e.incident_id for e in events if e.incident_id is not None})))}
    muted = acks.muted_until(conn, now)
    opened: dict[str, Batch] = defaultdict(list)
    closed: dict[str, Batch] = defaultdict(list)
    commune_due: set[str] = set()
    window = dt.timedelta(seconds=a.group_window_s)
    for ev in events:
        cam = config.cameras.get(ev.camera_id or "")
        inc = incs.get(ev.incident_id) if ev.incident_id is not None else None
        if cam is None:
            done(conn, ev.id, now, "camera retired or removed: no email")
            continue
        if cam.id in muted:
            continue  # held until the mute ends
        if ev.event == "flapping":
            payload = camera_payload(config, cam, inc) if inc else camera_base(config, cam)
            payload.update(opened_in_window=ev.payload.get("opened_in_window"), stable_s=ev.payload.get("stable_s"))
            written += notify_all(conn, config, now, "flapping", recipients(config, cam), payload, ev.incident_id, cam.id)
            done(conn, ev.id, now, "")
            continue
        if ev.event == "steady":
            written += _steady(conn, config, now, ev, inc, cam)
            continue
        if ev.payload.get("flapping"):
            done(conn, ev.id, now, "the camera is flapping: summarised when it is stable again")
            continue
        if inc is None:
            done(conn, ev.id, now, "no incident")
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
                done(conn, ev.id, now, "closed before the alert was due: no email")
                continue
            written += _alert(conn, config, now, ev, inc, cam)
        elif ev.event == "closed":
            if any(e.incident_id == ev.incident_id and e.event == "opened" for e in events):
                continue  # decided with its opened event
            if inc.notified_at is None:
                done(conn, ev.id, now, "the alert was never sent: no recovery email")
                continue
            if now >= ev.created_at + window:
                closed[cam.cfg.commune].append((ev, inc, cam))
    for commune in commune_due:  # the first of a commune's outages is due: everything pending goes, grouped
        written += _commune_down(conn, config, now, commune, opened[commune], reachable)
    for commune, batch in closed.items():
        if _together(config, commune, len(batch)) and all(inc.notified_at for _, inc, _ in batch):
            written += _group(conn, config, now, batch, "group_recovery")
        else:
            for ev, inc, cam in batch:
                written += notify_all(conn, config, now, "recovery", recipients(config, cam),
                                      camera_payload(config, cam, inc), inc.id, cam.id)
                done(conn, ev.id, now, "")
    written += periodic.reminders(conn, config, now, muted)
    written += periodic.digests(conn, config, now)
    return written


def _commune_size(config: Config, commune: str) -> int:
    return sum(1 for c in config.cameras.values() if c.cfg.commune == commune)


def _together(config: Config, commune: str, n: int) -> bool:
    """Enough of a commune's cameras at once to be one email: `group_threshold`, or all of them (at least two)."""
    return n >= config.file.alerts.group_threshold or (n >= 2 and n >= _commune_size(config, commune))


def _commune_down(conn: Connection, config: Config, now: dt.datetime, commune: str, batch: Batch,
                  reachable: Callable[[str], bool]) -> int:
    live = [(ev, inc, cam) for ev, inc, cam in batch if inc.closed_at is None]
    for ev, inc, _ in batch:
        if inc.closed_at is not None:
            done(conn, ev.id, now, "closed before the alert was due: no email")
    upstream = config.commune(commune).upstream
    if live and upstream and not reachable(upstream):
        return _group(conn, config, now, live, "upstream", {"upstream": upstream})
    if _together(config, commune, len(live)):
        return _group(conn, config, now, live, "group",
                      {"all_of_commune": len(live) >= _commune_size(config, commune)})
    return sum(_alert(conn, config, now, ev, inc, cam) for ev, inc, cam in live)


def _alert(conn: Connection, config: Config, now: dt.datetime, ev: Any, inc: Any, cam: ResolvedCamera) -> int:
    n = notify_all(conn, config, now, "alert", recipients(config, cam), camera_payload(config, cam, inc), inc.id, cam.id)
    conn.execute(update(incidents).where(incidents.c.id == inc.id).values(notified_at=now))
    done(conn, ev.id, now, "")
    return n


def _group(conn: Connection, config: Config, now: dt.datetime, batch: Batch, kind: str,
           extra: dict[str, Any] | None = None) -> int:
    cam0 = batch[0][2]
    techs: dict[str, Technician] = {}
    for _, _, cam in batch:
        techs.update({t.id: t for t in recipients(config, cam)})
    payload = {"commune": cam0.cfg.commune, "commune_name": cam0.commune.name, "timezone": config.district.timezone,
               "started_at": min(inc.started_at for _, inc, _ in batch).isoformat(),
               "grafana_url": config.file.alerts.grafana_url,
               "cameras": [{"camera": cam.id, "name": cam.cfg.name, "kind": inc.kind, "incident": inc.id,
                            "started_at": inc.started_at.isoformat(), "closed_at": _iso(inc.closed_at)}
                           for _, inc, cam in sorted(batch, key=lambda b: b[2].id)], **(extra or {})}
    n = notify_all(conn, config, now, kind, list(techs.values()), payload, None, None)
    for ev, inc, _ in batch:
        if kind in ("group", "upstream"):
            conn.execute(update(incidents).where(incidents.c.id == inc.id).values(notified_at=now))
        done(conn, ev.id, now, f"sent as one {kind} email")
    return n


def _steady(conn: Connection, config: Config, now: dt.datetime, ev: Any, inc: Any, cam: ResolvedCamera) -> int:
    """The one summary after a flapping period: how many outages, how long in all, and how it is now. An
    incident still open becomes notified by it, so its reminders and its recovery email follow."""
    at = ev.created_at
    since = dt.datetime.fromisoformat(ev.payload["flapping_since"]) if ev.payload.get("flapping_since") else at
    outages = acks.incidents_opened_since(conn, cam.id, since)
    down_s = sum(((min(i.closed_at, at) if i.closed_at else at) - i.started_at).total_seconds() for i in outages
                 if i.severity == "down")
    current = inc if inc is not None and inc.closed_at is None else None
    payload = {**(camera_payload(config, cam, current) if current else camera_base(config, cam)),
               "at": at.isoformat(), "flapping_since": since.isoformat(), "stable_s": ev.payload.get("stable_s"),
               "outages": len(outages), "down_s": down_s,
               "current": {"kind": current.kind, "started_at": current.started_at.isoformat()} if current else None}
    n = notify_all(conn, config, now, "steady", recipients(config, cam), payload, current.id if current else None, cam.id)
    if current is not None and current.notified_at is None:
        conn.execute(update(incidents).where(incidents.c.id == current.id).values(notified_at=now))
    done(conn, ev.id, now, "")
    return n
