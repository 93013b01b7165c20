"""Uptime by interval arithmetic (pure). The definition the README documents:

- *monitored*: each check covers [its start, the next check's start), at most 2 × its interval + 10 s;
  time not covered by any check (camwatch stopped, the server down) is *not monitored*.
- *maintenance*: monitored time inside a maintenance window.
- *down* / *degraded*: monitored time, outside maintenance, inside an incident of that severity
  (an incident runs from its first failing check to the first good check that closed it).
- *up*: the rest of the monitored time.
- availability = up / (up + down + degraded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Interval = tuple[dt.datetime, dt.datetime]
COVERAGE_SLACK_S = 10.0


def union(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    xs, ys = union(xs), union(ys)
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a < b:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    ys = union(ys)
    for a, b in union(xs):
        cur = a
        for c, d in ys:
            if d <= cur or c >= b:
                continue
            if c > cur:
                out.append((cur, c))
            cur = max(cur, d)
        if cur < b:
            out.append((cur, b))
    return out


def seconds(xs: Iterable[Interval]) -> float:
    return sum((b - a).total_seconds() for a, b in xs)


def coverage(checks: Sequence[tuple[dt.datetime, float]], until: dt.datetime) -> list[Interval]:
    """Time covered by checks given as (start, interval_s), sorted by start."""
    out: list[Interval] = []
    for k, (t, interval) in enumerate(checks):
        end = t + dt.timedelta(seconds=2 * interval + COVERAGE_SLACK_S)
        nxt = checks[k + 1][0] if k + 1 < len(checks) else until
        out.append((t, min(end, nxt, until)))
    return union(out)


@dataclass(frozen=True)
class Breakdown:
    window: Interval
    up_s: float
    down_s: float
    degraded_s: float
    maintenance_s: float
    unmonitored_s: float

    @property
    def availability(self) -> float | None:
        judged = self.up_s + self.down_s + self.degraded_s
        return self.up_s / judged if judged > 0 else None


def breakdown(window: Interval, monitored: Sequence[Interval], maintenance: Sequence[Interval],
              down: Sequence[Interval], degraded: Sequence[Interval]) -> Breakdown:
    mon = intersect(monitored, [window])
    maint = intersect(mon, maintenance)
    judged = subtract(mon, maint)
    dn = intersect(judged, down)
    dg = subtract(intersect(judged, degraded), dn)
    up = subtract(judged, [*dn, *dg])
    total = (window[1] - window[0]).total_seconds()
    return Breakdown(window, seconds(up), seconds(dn), seconds(dg), seconds(maint), total - seconds(mon))
