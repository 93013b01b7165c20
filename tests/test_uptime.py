from __future__ import annotations

import datetime as dt

from camwatch.uptime import breakdown, coverage, intersect, subtract, union

T = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def h(x: float) -> dt.datetime:
    return T + dt.timedelta(hours=x)


def test_interval_algebra() -> None:
    assert union([(h(0), h(2)), (h(1), h(3)), (h(5), h(6))]) == [(h(0), h(3)), (h(5), h(6))]
    assert intersect([(h(0), h(3))], [(h(1), h(2)), (h(2.5), h(4))]) == [(h(1), h(2)), (h(2.5), h(3))]
    assert subtract([(h(0), h(10))], [(h(1), h(2)), (h(5), h(6))]) == [(h(0), h(1)), (h(2), h(5)), (h(6), h(10))]


def test_coverage_ends_where_checks_stop() -> None:
    checks = [(h(0) + dt.timedelta(minutes=m), 60.0) for m in range(60)]  # one hour of 1-minute checks
    cov = coverage(checks, h(5))
    assert cov == [(h(0), h(1) + dt.timedelta(seconds=60 + 10))]  # last check covers 2 × 60 s + 10 s at most


def test_breakdown_worked_example() -> None:
    # a day: checked all day except 02:00–04:00 (camwatch stopped); down 10:00–12:00;
    # maintenance 11:00–13:00; degraded 15:00–16:00
    b = breakdown((h(0), h(24)), [(h(0), h(2)), (h(4), h(24))], [(h(11), h(13))], [(h(10), h(12))], [(h(15), h(16))])
    assert b.unmonitored_s == 2 * 3600
    assert b.maintenance_s == 2 * 3600
    assert b.down_s == 1 * 3600
    assert b.degraded_s == 1 * 3600
    assert b.up_s == 18 * 3600
    assert b.availability == 18 / 20
