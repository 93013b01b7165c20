"""Acknowledgement, mutes and the facts an alert quotes (pictures' times, a flapping period's outages)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from camwatch.store.schema import cameras, incidents, mutes


def acknowledge(conn: Connection, incident_id: int, by: str, note: str, now: dt.datetime) -> Any | None:
    """Mark an incident acknowledged (reminders stop; escalation still applies). Returns the incident, or
    None when there is no such incident. Acknowledging again updates who, when and the note."""
    n = conn.execute(update(incidents).where(incidents.c.id == incident_id).values(
        acknowledged=True, acknowledged_by=by, acknowledged_at=now, ack_note=note or None)).rowcount
    return conn.execute(select(incidents).where(incidents.c.id == incident_id)).first() if n else None


def add_mute(conn: Connection, camera_id: str, starts_at: dt.datetime, ends_at: dt.datetime, by: str,
             note: str = "") -> int:
    return conn.execute(insert(mutes).values(camera_id=camera_id, starts_at=starts_at, ends_at=ends_at, muted_by=by,
                                             note=note).returning(mutes.c.id)).scalar_one()


def end_mute(conn: Connection, camera_id: str, now: dt.datetime) -> int:
    return conn.execute(update(mutes).where(mutes.c.camera_id == camera_id, mutes.c.starts_at <= now,
                                            mutes.c.ends_at > now).values(ends_at=now)).rowcount


def muted_until(conn: Connection, at: dt.datetime) -> dict[str, dt.datetime]:
    """Cameras muted at `at`, with the end of their mute."""
    out: dict[str, dt.datetime] = {}
    for r in conn.execute(select(mutes.c.camera_id, mutes.c.ends_at).where(mutes.c.starts_at <= at, mutes.c.ends_at > at)):
        out[r.camera_id] = max(out.get(r.camera_id, r.ends_at), r.ends_at)
    return out


def open_incident_acknowledged(conn: Connection, camera_id: str) -> bool:
    """Whether the camera's open incident (if any) is acknowledged."""
    return bool(conn.execute(select(incidents.c.acknowledged).where(
        incidents.c.camera_id == camera_id, incidents.c.closed_at.is_(None))).scalar())


def latest_picture(conn: Connection, camera_id: str) -> tuple[str | None, dt.datetime | None]:
    row = conn.execute(select(cameras.c.latest_snapshot, cameras.c.latest_snapshot_at)
                       .where(cameras.c.id == camera_id)).first()
    return (row.latest_snapshot, row.latest_snapshot_at) if row else (None, None)


def incidents_opened_since(conn: Connection, camera_id: str, since: dt.datetime) -> list[Any]:
    """A camera's incidents opened at or after `since` (a flapping period's outages)."""
    return list(conn.execute(select(incidents).where(incidents.c.camera_id == camera_id,
                                                     incidents.c.opened_at >= since).order_by(incidents.c.started_at)))
