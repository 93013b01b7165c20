"""The report's figures: district, per commune, per camera, per day; one set for every format.

Figures come from interval arithmetic on check coverage, incidents and maintenance (see `uptime`),
computed once per camera and then cut into communes, days and the previous period. Every figure stops
at `until = min(period end, now)`: time that has not happened yet is neither down nor "not monitored".
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from camwatch.config import Config
from camwatch.config.settings import ReportSettings
from camwatch.model import PRECEDENCE
from camwatch.store import history, repo
from camwatch.uptime import Breakdown, intersect, seconds
from camwatch.words import sort_key

if TYPE_CHECKING:
    from sqlalchemy import Connection

WORST_SHOWN = 5  # the summary names this many of the worst cameras


@dataclass(frozen=True)
class IncidentRow:
    camera: str
    commune: str
    kind: str
    severity: str
    started_at: dt.datetime
    closed_at: dt.datetime | None  # None: still open at the end of the part of the period counted
    in_period_s: float  # the part inside the period (up to `until`)

    @property
    def duration_s(self) -> float | None:
        """The whole incident, for closed ones (time to repair)."""
        return (self.closed_at - self.started_at).total_seconds() if self.closed_at else None

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass
class CameraRow:
    id: str
    name: str
    commune: str
    location: str
    window: tuple[dt.datetime, dt.datetime] | None  # the part of the period the camera existed, up to `until`
    b: Breakdown | None
    incidents: list[IncidentRow] = field(default_factory=list)
    added_at: dt.datetime | None = None  # set when the camera was added inside the period
    retired_at: dt.datetime | None = None  # set when it was removed inside the period

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def availability(self) -> float | None:
        return self.b.availability if self.b else None

    @property
    def never_up(self) -> bool:
        return self.b is not None and self.b.up_s == 0 and (self.b.down_s + self.b.degraded_s) > 0

    @property
    def worst_fault(self) -> str | None:
        """The most fundamental fault of the camera's incidents in the period (no picture before picture quality)."""
        kinds = {i.kind for i in self.incidents}
        return next((str(v) for v in PRECEDENCE if str(v) in kinds), None)


@dataclass(frozen=True)
class Totals:
    """The figures of a group of cameras (a commune, the district): the same in every format."""

    cameras: int
    counted_s: float
    up_s: float
    down_s: float
    degraded_s: float
    maintenance_s: float
    unmonitored_s: float
    incidents: int
    by_kind: dict[str, int]
    mttr_s: float | None  # mean time to repair, of the incidents closed in the period (their whole length)
    median_s: float | None
    longest_s: float  # the longest outage (down incident) inside the period
    open_at_end: int
    never_up: list[str]
    problem_cameras: list[str]  # cameras with picture (degraded) or clock problems
    previous: float | None = None  # availability of the previous period of equal length

    @property
    def availability(self) -> float | None:
        judged = self.up_s + self.down_s + self.degraded_s
        return self.up_s / judged if judged else None

    @property
    def change(self) -> float | None:
        a = self.availability
        return a - self.previous if a is not None and self.previous is not None else None


def totals(cams: list[CameraRow], previous: float | None = None) -> Totals:
    bs = [c.b for c in cams if c.b]
    incs = [i for c in cams for i in c.incidents]
    rt = [d for i in incs if (d := i.duration_s) is not None]
    return Totals(
        cameras=len(cams), counted_s=sum((b.window[1] - b.window[0]).total_seconds() for b in bs),
        up_s=sum(b.up_s for b in bs), down_s=sum(b.down_s for b in bs), degraded_s=sum(b.degraded_s for b in bs),
        maintenance_s=sum(b.maintenance_s for b in bs), unmonitored_s=sum(b.unmonitored_s for b in bs),
        incidents=len(incs), by_kind=dict(sorted(Counter(i.kind for i in incs).items(), key=_kind_order)),
        mttr_s=statistics.fmean(rt) if rt else None, median_s=statistics.median(rt) if rt else None,
        longest_s=max((i.in_period_s for i in incs if i.severity == "down"), default=0.0),
        open_at_end=sum(1 for i in incs if i.open), never_up=[c.id for c in cams if c.never_up],
        problem_cameras=sorted({i.camera for i in incs if i.severity == "degraded" or i.kind == "clock"}),
        previous=previous)


def _kind_order(item: tuple[str, int]) -> tuple[int, str]:
    order = [str(v) for v in PRECEDENCE]
    return (order.index(item[0]) if item[0] in order else len(order), item[0])


@dataclass
class CommuneRow:
    id: str
    name: str
    cameras: list[CameraRow]
    previous: float | None = None

    @property
    def figures(self) -> Totals:
        return totals(self.cameras, self.previous)

    @property
    def availability(self) -> float | None:
        return self.figures.availability

    @property
    def incidents(self) -> list[IncidentRow]:
        return [i for c in self.cameras for i in c.incidents]


@dataclass
class Report:
    district: str
    start: dt.datetime
    end: dt.datetime
    until: dt.datetime  # min(end, generated_at): every figure stops here
    generated_at: dt.datetime
    tz: ZoneInfo
    communes: list[CommuneRow]
    daily: list[tuple[dt.date, float | None]]  # every day of the period; None: nothing judged (or not yet)
    layout: ReportSettings = field(default_factory=ReportSettings)
    previous: float | None = None
    commune_filter: str | None = None

    @property
    def ongoing(self) -> bool:
        """The period has not ended: figures stop at `until` (now)."""
        return self.until < self.end

    @property
    def cameras(self) -> list[CameraRow]:
        return [c for co in self.communes for c in co.cameras]

    @property
    def incidents(self) -> list[IncidentRow]:
        return sorted((i for c in self.cameras for i in c.incidents), key=lambda i: (i.started_at, i.camera))

    @property
    def figures(self) -> Totals:
        return totals(self.cameras, self.previous)

    @property
    def availability(self) -> float | None:
        return self.figures.availability

    def worst(self) -> list[CameraRow]:
        judged = [c for c in self.cameras if c.availability is not None and c.availability < 1]
        return sorted(judged, key=lambda c: (c.availability or 0.0, c.id))[:WORST_SHOWN]

    def commune_name(self, commune_id: str) -> str:
        return next((co.name for co in self.communes if co.id == commune_id), commune_id)


def period(date_from: dt.date, date_to: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Local calendar days, both included, as UTC instants."""
    start = dt.datetime.combine(date_from, dt.time(0), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tz).astimezone(dt.UTC)
    return start, end


def build(conn: Connection, config: Config, start: dt.datetime, end: dt.datetime, now: dt.datetime,
          commune: str | None = None) -> Report:
    """The figures of [start, end) as known at `now`: nothing after `now` is counted."""
    tz = ZoneInfo(config.district.timezone)
    names = {c.id: c.name for c in config.file.communes}
    until = max(start, min(end, now))
    prev_start = start - (end - start)
    rows = repo.cameras_between(conn, prev_start, until)
    if commune:
        rows = [r for r in rows if r.commune == commune]
    by_commune: dict[str, list[CameraRow]] = {}
    prev: dict[str, list[Breakdown]] = {}
    days = _days(start, end, tz)
    day_windows = [(d, a, min(z, until)) for d, a, z in days if a < until]
    day_up = Counter[dt.date]()
    day_judged = Counter[dt.date]()
    for r in rows:
        life = (r.added_at, r.retired_at or until)
        hist = history.camera_history(conn, r.id, r.commune, prev_start, until,
                                      config.maintenance_windows(r.id, r.commune, prev_start, until))
        win = intersect([life], [(start, until)])
        window = win[0] if win else None
        pwin = intersect([life], [(prev_start, start)])
        if pwin:
            prev.setdefault(r.commune, []).append(hist.breakdown(*pwin[0]))
        if not window:
            continue
        cam = CameraRow(r.id, r.name, r.commune, r.location or "", window, hist.breakdown(*window),
                        added_at=r.added_at if r.added_at > start else None,
                        retired_at=r.retired_at if r.retired_at and r.retired_at < until else None)
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
    for cid in sorted(by_commune, key=lambda c: sort_key(names.get(c, c))):
        communes.append(CommuneRow(cid, names.get(cid, cid), sorted(by_commune[cid], key=lambda c: c.id),
                                   _availability(prev.get(cid, []))))
    daily = [(d, day_up[d] / day_judged[d] if day_judged[d] else None) for d, _, _ in days]
    return Report(config.district.name, start, end, until, now, tz, communes, daily, config.file.report,
                  _availability([b for cid in by_commune for b in prev.get(cid, [])]), commune)


def _days(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    first, last = start.astimezone(tz).date(), (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return [(d, *period(d, d, tz)) for d in (first + dt.timedelta(days=k) for k in range((last - first).days + 1))]


def _availability(bs: list[Breakdown]) -> float | None:
    judged = sum(b.up_s + b.down_s + b.degraded_s for b in bs)
    return sum(b.up_s for b in bs) / judged if judged else None
