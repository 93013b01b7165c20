"""The web pages' reads: a few bulk queries, so that a page for 1,000 cameras costs a handful of statements.

Read-only. The per-camera history for availability is read for many cameras at once (one query per table,
ordered by camera) and handed back as `history.History`, the same intervals uptime and the report use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, or_, select

from camwatch.store.history import History
from camwatch.store.schema import cameras, check_hours, checks, incidents, maintenance
from camwatch.uptime import Interval, coverage, union

FLEET_COLUMNS = (cameras.c.id, cameras.c.commune, cameras.c.name, cameras.c.location, cameras.c.status,
                 cameras.c.status_since, cameras.c.last_check_at, cameras.c.last_verdict)


def fleet(conn: Connection) -> tuple[dict[str, Any], dict[str, Any]]:
    """The current state of every camera not retired (id → row) and their open incidents (camera id → row)."""
    rows = {r.id: r for r in conn.execute(select(*FLEET_COLUMNS).where(cameras.c.retired_at.is_(None)))}
    open_inc = {r.camera_id: r for r in conn.execute(
        select(incidents.c.id, incidents.c.camera_id, incidents.c.kind, incidents.c.severity, incidents.c.started_at,
               incidents.c.acknowledged).where(incidents.c.closed_at.is_(None)))}
    return rows, open_inc


def camera(conn: Connection, camera_id: str) -> Any | None:
    """One camera's row (facts, current state, learned profile), or None."""
    return conn.execute(select(cameras).where(cameras.c.id == camera_id)).first()


def last_checks(conn: Connection, camera_id: str, limit: int) -> list[Any]:
    """The camera's newest checks, newest first."""
    return list(conn.execute(select(checks).where(checks.c.camera_id == camera_id)
                             .order_by(checks.c.started_at.desc()).limit(limit)))


def camera_incidents(conn: Connection, camera_id: str, limit: int) -> list[Any]:
    """The camera's newest incidents, newest first."""
    return list(conn.execute(select(incidents).where(incidents.c.camera_id == camera_id)
                             .order_by(incidents.c.started_at.desc()).limit(limit)))


def incident_pictures(conn: Connection, incident_id: int) -> Any | None:
    """Where an incident's pictures were copied to: (camera_id, first_bad_snapshot, last_good_snapshot)."""
    return conn.execute(select(incidents.c.camera_id, incidents.c.first_bad_snapshot, incidents.c.last_good_snapshot)
                        .where(incidents.c.id == incident_id)).first()


def camera_maintenance(conn: Connection, camera_id: str, commune: str, since: dt.datetime) -> list[Any]:
    """Stored maintenance windows (from the command line) of the camera or its commune ending after `since`."""
    return list(conn.execute(select(maintenance).where(
        or_(maintenance.c.camera_id == camera_id, maintenance.c.commune == commune), maintenance.c.ends_at > since)
        .order_by(maintenance.c.starts_at.desc())))


def active_maintenance(conn: Connection, at: dt.datetime) -> list[Any]:
    """Windows running at `at` (camera or commune)."""
    return list(conn.execute(select(maintenance.c.camera_id, maintenance.c.commune).where(
        maintenance.c.starts_at <= at, maintenance.c.ends_at > at)))


def histories(conn: Connection, cams: Sequence[tuple[str, str]], start: dt.datetime, end: dt.datetime,
              planned: dict[str, list[Interval]] | None = None) -> dict[str, History]:
    """`history.camera_history` of many cameras (id, commune) over [start, end), in four queries."""
    ids = [c for c, _ in cams]
    slack = dt.timedelta(hours=1)  # a check before the window covers into it
    by_cam: dict[str, list[tuple[dt.datetime, float]]] = {c: [] for c in ids}
    for r in conn.execute(select(checks.c.camera_id, checks.c.started_at, checks.c.interval_s).where(
            checks.c.camera_id.in_(ids), checks.c.started_at >= start - slack, checks.c.started_at < end)
            .order_by(checks.c.camera_id, checks.c.started_at)):
        by_cam[r.camera_id].append((r.started_at, r.interval_s))
    down: dict[str, list[Interval]] = {c: [] for c in ids}
    degraded: dict[str, list[Interval]] = {c: [] for c in ids}
    for r in conn.execute(select(incidents.c.camera_id, incidents.c.started_at, incidents.c.closed_at,
                                 incidents.c.severity).where(
            incidents.c.camera_id.in_(ids), incidents.c.started_at < end,
            or_(incidents.c.closed_at.is_(None), incidents.c.closed_at > start))):
        (down if r.severity == "down" else degraded)[r.camera_id].append((r.started_at, r.closed_at or end))
    rolled: dict[str, list[Interval]] = {c: [] for c in ids}
    for r in conn.execute(select(check_hours.c.camera_id, check_hours.c.hour, check_hours.c.spans).where(
            check_hours.c.camera_id.in_(ids), check_hours.c.hour >= start - slack, check_hours.c.hour < end)):
        rolled[r.camera_id] += [(r.hour + dt.timedelta(seconds=a), r.hour + dt.timedelta(seconds=b)) for a, b in r.spans]
    windows = list(conn.execute(select(maintenance.c.camera_id, maintenance.c.commune, maintenance.c.starts_at,
                                       maintenance.c.ends_at).where(maintenance.c.ends_at > start,
                                                                    maintenance.c.starts_at < end)))
    planned = planned or {}
    out = {}
    for cid, commune in cams:
        maint = [(w.starts_at, w.ends_at) for w in windows if w.camera_id == cid or w.commune == commune]
        out[cid] = History(union([*coverage(by_cam[cid], end), *rolled[cid]]), [*maint, *planned.get(cid, [])],
                           down[cid], degraded[cid])
    return out


def chunks(items: Sequence[tuple[str, str]], size: int) -> Iterable[Sequence[tuple[str, str]]]:
    """`histories` in batches (an IN list of bounded length)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
