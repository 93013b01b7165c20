"""A camera's history as intervals (monitored, maintenance, down, degraded) and the hourly roll-up of old checks.

Uptime, `camwatch status` and the report are computed from these intervals (see `uptime`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select

from camwatch.store.repo import LOCK_ROLLUP, exclusive, maintenance_windows
from camwatch.store.schema import check_hours, checks, incidents
from camwatch.uptime import Breakdown, Interval, breakdown, coverage, intersect, union

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class History:
    """One camera's intervals over a window: what uptime and reports are computed from."""

    monitored: list[Interval]
    maintenance: list[Interval]
    down: list[Interval]
    degraded: list[Interval]

    def breakdown(self, start: dt.datetime, end: dt.datetime) -> Breakdown:
        return breakdown((start, end), self.monitored, self.maintenance, self.down, self.degraded)


def camera_history(conn: Connection, camera_id: str, commune: str, start: dt.datetime, end: dt.datetime,
                   planned: Iterable[Interval] = ()) -> History:
    slack = dt.timedelta(hours=1)  # a check before the window covers into it (at most 2 × 600 s + 10 s)
    chk = [(r.started_at, r.interval_s) for r in conn.execute(
        select(checks.c.started_at, checks.c.interval_s).where(
            checks.c.camera_id == camera_id, checks.c.started_at >= start - slack, checks.c.started_at < end
        ).order_by(checks.c.started_at))]
    inc = conn.execute(select(incidents.c.started_at, incidents.c.closed_at, incidents.c.severity).where(
        incidents.c.camera_id == camera_id, incidents.c.started_at < end,
        or_(incidents.c.closed_at.is_(None), incidents.c.closed_at > start)))
    down: list[Interval] = []
    degraded: list[Interval] = []
    for r in inc:
        (down if r.severity == "down" else degraded).append((r.started_at, r.closed_at or end))
    maint = [*maintenance_windows(conn, camera_id, commune, start, end), *planned]
    monitored = union([*coverage(chk, end), *_rolled_up_spans(conn, camera_id, start, end)])
    return History(monitored, maint, down, degraded)


def camera_breakdown(conn: Connection, camera_id: str, commune: str, start: dt.datetime,
                     end: dt.datetime, planned: Iterable[Interval] = ()) -> Breakdown:
    """Up/down/degraded/maintenance/unmonitored seconds of one camera over [start, end)."""
    return camera_history(conn, camera_id, commune, start, end, planned).breakdown(start, end)


def _rolled_up_spans(conn: Connection, camera_id: str, start: dt.datetime, end: dt.datetime) -> list[Interval]:
    rows = conn.execute(select(check_hours.c.hour, check_hours.c.spans).where(
        check_hours.c.camera_id == camera_id, check_hours.c.hour >= start - dt.timedelta(hours=1),
        check_hours.c.hour < end))
    return [(r.hour + dt.timedelta(seconds=a), r.hour + dt.timedelta(seconds=b)) for r in rows for a, b in r.spans]


def rollup(conn: Connection, cutoff: dt.datetime) -> int:
    """Replace raw checks older than `cutoff` (floored to the hour) by hourly rows; returns rows removed.

    Each hourly row keeps the exact covered time as spans, so uptime computed afterwards is unchanged.
    """
    cutoff = cutoff.replace(minute=0, second=0, microsecond=0)
    exclusive(conn, LOCK_ROLLUP)
    removed = 0
    cams = [r[0] for r in conn.execute(select(checks.c.camera_id).where(checks.c.started_at < cutoff).distinct())]
    for cam in cams:
        rows = list(conn.execute(select(checks.c.id, checks.c.started_at, checks.c.interval_s, checks.c.verdict).where(
            checks.c.camera_id == cam, checks.c.started_at < cutoff).order_by(checks.c.started_at)))
        nxt = conn.execute(select(func.min(checks.c.started_at)).where(
            checks.c.camera_id == cam, checks.c.started_at >= cutoff)).scalar()
        last = rows[-1]
        until = nxt or last.started_at + dt.timedelta(seconds=2 * last.interval_s + 10)
        cov = coverage([(r.started_at, r.interval_s) for r in rows], until)
        hours: dict[dt.datetime, dict[str, Any]] = {}
        for r in rows:
            h = hours.setdefault(r.started_at.replace(minute=0, second=0, microsecond=0),
                                 {"checks": 0, "ok": 0, "verdicts": {}, "spans": []})
            h["checks"] += 1
            h["ok"] += r.verdict == "ok"
            h["verdicts"][r.verdict] = h["verdicts"].get(r.verdict, 0) + 1
        first_hour = rows[0].started_at.replace(minute=0, second=0, microsecond=0)
        last_hour = until.replace(minute=0, second=0, microsecond=0)
        hour = first_hour
        while hour <= last_hour:
            for a, b in intersect(cov, [(hour, hour + dt.timedelta(hours=1))]):
                hours.setdefault(hour, {"checks": 0, "ok": 0, "verdicts": {}, "spans": []})["spans"].append(
                    [(a - hour).total_seconds(), (b - hour).total_seconds()])
            hour += dt.timedelta(hours=1)
        for hour, h in hours.items():
            _merge_hour(conn, cam, hour, h)
        removed += conn.execute(checks.delete().where(checks.c.camera_id == cam, checks.c.started_at < cutoff)).rowcount
    return removed


def rollup_old(engine: Engine, retention_days: int) -> int:
    """The daemon's job: checks older than the retention period become hourly rows."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=retention_days)
    with engine.begin() as conn:
        n = rollup(conn, cutoff)
    if n:
        log.info("rolled up %d checks older than %s into hourly rows", n, cutoff.date())
    return n


def _merge_hour(conn: Connection, cam: str, hour: dt.datetime, h: dict[str, Any]) -> None:
    old = conn.execute(select(check_hours).where(check_hours.c.camera_id == cam, check_hours.c.hour == hour)).first()
    if old is not None:
        spans = [(hour + dt.timedelta(seconds=a), hour + dt.timedelta(seconds=b)) for a, b in [*old.spans, *h["spans"]]]
        h = {"checks": old.checks + h["checks"], "ok": old.ok + h["ok"],
             "verdicts": {k: old.verdicts.get(k, 0) + h["verdicts"].get(k, 0) for k in {*old.verdicts, *h["verdicts"]}},
             "spans": [[(a - hour).total_seconds(), (b - hour).total_seconds()] for a, b in union(spans)]}
        conn.execute(check_hours.delete().where(check_hours.c.camera_id == cam, check_hours.c.hour == hour))
    covered = sum(b - a for a, b in h["spans"])
    conn.execute(insert(check_hours).values(camera_id=cam, hour=hour, checks=h["checks"], ok=h["ok"],
                                            covered_s=covered, spans=h["spans"], verdicts=h["verdicts"]))
