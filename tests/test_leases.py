"""Leases over explicit time on real SQLite and PostgreSQL: fair shares, takeover after the TTL, rebalance."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from camwatch.store import leases, repo

T0 = dt.datetime(2026, 11, 28, 7, 0, tzinfo=dt.UTC)
TTL = 120.0
CAMS = {f"C{i:03d}": f"c{i % 4}" for i in range(100)}


def setup(engine: Engine) -> None:
    with engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": c, "commune": m, "name": c} for c, m in CAMS.items()], T0)


def round_(engine: Engine, node: str, t: float, pinned: tuple[str, ...] = ()) -> tuple[set[str], int]:
    with engine.begin() as conn:
        return leases.rebalance(conn, node, CAMS, T0 + dt.timedelta(seconds=t), TTL, pinned)


def test_plan_is_the_fair_share() -> None:
    assert leases.plan(0, 100, 3) == (34, 0)
    assert leases.plan(50, 100, 3) == (0, 16)
    assert leases.plan(34, 100, 3) == (0, 0)


def test_fair_partition_takeover_and_rebalance(engine: Engine) -> None:
    setup(engine)
    held: dict[str, set[str]] = {}
    for t in (0, 20, 40):  # three nodes start; a few rounds settle the shares
        for n in ("a", "b", "c"):
            held[n] = round_(engine, n, t)[0]
    sizes = sorted(len(h) for h in held.values())
    assert sum(sizes) == 100 and sizes[-1] <= 34 and sizes[0] >= 30  # within ±10 % of 33.3
    assert not (held["a"] & held["b"]) and not (held["b"] & held["c"]) and not (held["a"] & held["c"])
    # "c" dies at t=40: nothing moves before its leases run out…
    for t in (60, 100, 150):
        for n in ("a", "b"):
            held[n], taken = round_(engine, n, t)
            assert taken == 0 or t >= 40 + TTL
    # …and after them (TTL after its last renewal) the survivors take everything over
    taken_total = 0
    for t in (170, 190):
        for n in ("a", "b"):
            held[n], taken = round_(engine, n, t)
            taken_total += taken
    assert len(held["a"] | held["b"]) == 100 and taken_total == len(held["c"])
    assert sorted(len(h) for h in (held["a"], held["b"])) == [50, 50]
    # "c" comes back: the others give up their surplus, it picks it up, and then nothing moves any more
    for t in (200, 210, 220, 230):
        for n in ("a", "b", "c"):
            held[n] = round_(engine, n, t)[0]
    sizes = sorted(len(h) for h in held.values())
    assert sum(sizes) == 100 and all(30 <= x <= 36 for x in sizes), sizes  # within ±10 % of 33.3
    before = {n: set(h) for n, h in held.items()}
    for n in ("a", "b", "c"):
        held[n] = round_(engine, n, 240)[0]
    assert held == before


def test_a_node_takes_its_pinned_commune_first(engine: Engine) -> None:
    setup(engine)
    mine, _ = round_(engine, "near-c1", 0, pinned=("c1",))
    assert {c for c in mine if CAMS[c] == "c1"} == {c for c, m in CAMS.items() if m == "c1"}


def test_verify_refuses_a_node_that_lost_the_camera(engine: Engine) -> None:
    import pytest

    setup(engine)
    held, _ = round_(engine, "a", 0)
    cam = sorted(held)[0]
    with engine.begin() as conn:
        leases.verify(conn, cam, "a", T0 + dt.timedelta(seconds=10))
    with pytest.raises(leases.LeaseLost), engine.begin() as conn:
        leases.verify(conn, cam, "b", T0 + dt.timedelta(seconds=10))
    with pytest.raises(leases.LeaseLost), engine.begin() as conn:
        leases.verify(conn, cam, "a", T0 + dt.timedelta(seconds=TTL + 1))  # expired
