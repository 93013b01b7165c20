"""The report's figures: district, per commune, per camera, per day; one set for every format.

Figures come from interval arithmetic on check coverage, incidents and maintenance (see `uptime`),
computed once per camera and then cut into communes, days and the previous period.
"""

from __future__ import annotations

import datetime as dt
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from camwatch.config import Config
from camwatch.store import history, repo
from camwatch.uptime import Breakdown, intersect, seconds

# ---------------------------------------------------------------- figures


@dataclass
class IncidentRow:
    camera: str
    commune: str
    kind: str
    severity: str
    started_at: dt.datetime
    closed_at: dt.datetime | None
    in_period_s: float  # the part inside the period

    @property
    def duration_s(self) -> float | None:
        return (self.closed_at - self.started_at).total_seconds() if self.closed_at else None


@dataclass
class CameraRow:
    id: str
    name: str
    commune: str
    location: str
    window: tuple[dt.datetime, dt.datetime] | None  # the part of the period the camera existed
    b: Breakdown | None
    incidents: list[IncidentRow] = field(default_factory=list)
    retired: bool = False

    @property
    def availability(self) -> float | None:
        return self.b.availability if self.b else None

    @property
    def never_up(self) -> bool:
        return self.b is not None and self.b.up_s == 0 and (self.b.down_s + self.b.degraded_s) > 0


@dataclass
class CommuneRow:
    id: str
    name: str
    cameras: list[CameraRow]
    previous: float | None = None

    def total(self, attr: str) -> float:
        return sum(getattr(c.b, attr) for c in self.cameras if c.b)

    @property
    def availability(self) -> float | None:
        judged = self.total("up_s") + self.total("down_s") + self.total("degraded_s")
        return self.total("up_s") / judged if judged else None

    @property
    def incidents(self) -> list[IncidentRow]:
        return [i for c in self.cameras for i in c.incidents]

    def repair_times(self) -> list[float]:
        return [d for i in self.incidents if (d := i.duration_s) is not None]

    @property
    def longest_s(self) -> float:
        return max((i.in_period_s for i in self.incidents if i.severity == "down"), default=0.0)


@dataclass
class Report:
    district: str
    start: dt.datetime
    end: dt.datetime
    tz: ZoneInfo
    communes: list[CommuneRow]
    daily: list[tuple[dt.date, float | None]]

    @property
    def cameras(self) -> list[CameraRow]:
        return [c for co in self.communes for c in co.cameras]

    @property
    def incidents(self) -> list[IncidentRow]:
        return [i for c in self.cameras for i in c.incidents]

    @property
    def availability(self) -> float | None:
        ups = sum(c.b.up_s for c in self.cameras if c.b)
        judged = sum(c.b.up_s + c.b.down_s + c.b.degraded_s for c in self.cameras if c.b)
        return ups / judged if judged else None

    def repair_times(self) -> list[float]:
        return [d for i in self.incidents if (d := i.duration_s) is not None]


def period(date_from: dt.date, date_to: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Local calendar days, both included, as UTC instants."""
    start = dt.datetime.combine(date_from, dt.time(0), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tz).astimezone(dt.UTC)
    return start, end


def build(conn: Connection, config: Config, start: dt.datetime, end: dt.datetime,
          commune: str | None = None) -> Report:
    tz = ZoneInfo(config.district.timezone)
    names = {c.id: c.name for c in config.file.communes}
    prev_start = start - (end - start)
    rows = repo.cameras_between(conn, prev_start, end)
    if commune:
        rows = [r for r in rows if r.commune == commune]
    by_commune: dict[str, list[CameraRow]] = {}
    prev: dict[str, list[Breakdown]] = {}
    days = [(start.astimezone(tz).date() + dt.timedelta(days=k)) for k in range((end - start).days + 1)]
    day_windows = [(d, *period(d, d, tz)) for d in days if period(d, d, tz)[0] < end]
    day_up = Counter[dt.date]()
    day_judged = Counter[dt.date]()
    for r in rows:
        life = (r.added_at, r.retired_at or end)
        hist = history.camera_history(conn, r.id, r.commune, prev_start, end,
                                   config.maintenance_windows(r.id, r.commune, prev_start, end))
        win = intersect([life], [(start, end)])
        window = win[0] if win else None
        b = hist.breakdown(*window) if window else None
        pwin = intersect([life], [(prev_start, start)])
        if pwin:
            prev.setdefault(r.commune, []).append(hist.breakdown(*pwin[0]))
        cam = CameraRow(r.id, r.name, r.commune, r.location or "", window, b, retired=r.retired_at is not None)
        if window:
            for d, a, z in day_windows:
                w = intersect([window], [(a, z)])
                if w:
                    db = hist.breakdown(*w[0])
                    day_up[d] += db.up_s
                    day_judged[d] += db.up_s + db.down_s + db.degraded_s
            for i in repo.incidents_between(conn, r.id, *window):
                inside = seconds(intersect([(i.started_at, i.closed_at or window[1])], [window]))
                closed = i.closed_at if i.closed_at and i.closed_at <= window[1] else None
                cam.incidents.append(IncidentRow(r.id, r.commune, i.kind, i.severity, i.started_at, closed, inside))
            by_commune.setdefault(r.commune, []).append(cam)
    communes = []
    for cid in sorted(by_commune, key=lambda c: _sort_key(names.get(c, c))):
        row = CommuneRow(cid, names.get(cid, cid), sorted(by_commune[cid], key=lambda c: c.id))
        pb = prev.get(cid, [])
        judged = sum(b.up_s + b.down_s + b.degraded_s for b in pb)
        row.previous = sum(b.up_s for b in pb) / judged if judged else None
        communes.append(row)
    daily = [(d, day_up[d] / day_judged[d] if day_judged[d] else None) for d, _, _ in day_windows]
    return Report(config.district.name, start, end, tz, communes, daily)


def _sort_key(name: str) -> str:
    """Vietnamese names sort by their letters first (Đ after D), tone marks second."""
    base = unicodedata.normalize("NFD", name.replace("Đ", "D\uffff").replace("đ", "d\uffff"))
    return "".join(ch for ch in base if not unicodedata.combining(ch)).casefold() + "\0" + name


def commune_figures(c: CommuneRow) -> dict[str, Any]:
    rt = c.repair_times()
    kinds = Counter(i.kind for i in c.incidents)
    return {
        "cameras": len(c.cameras), "availability": c.availability, "down_s": c.total("down_s"),
        "degraded_s": c.total("degraded_s"), "maintenance_s": c.total("maintenance_s"),
        "unmonitored_s": c.total("unmonitored_s"), "incidents": len(c.incidents), "by_kind": dict(kinds),
        "mttr_s": statistics.fmean(rt) if rt else None, "median_s": statistics.median(rt) if rt else None,
        "longest_s": c.longest_s,
        "problem_cameras": sorted({i.camera for i in c.incidents if i.severity == "degraded" or i.kind == "clock"}),
        "open_at_end": sum(1 for i in c.incidents if i.closed_at is None),
        "previous": c.previous,
        "change": (c.availability - c.previous) if c.availability is not None and c.previous is not None else None,
    }
