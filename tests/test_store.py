"""Storage on real SQLite and real PostgreSQL: one transaction per check, restart-safe incidents, uptime."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from camwatch.analysis import Baseline, ModeBaseline
from camwatch.health import Policy, State, Status, step
from camwatch.model import CheckResult, Verdict
from camwatch.store import history, repo
from camwatch.store.schema import cameras, checks, notifications

T0 = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)
P = Policy(failures_to_open=2, successes_to_close=2)


def sync(engine: Engine, ids: list[str]) -> None:
    with engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": i, "commune": "yen-dinh", "name": f"Camera {i}"} for i in ids], T0)


def do_check(engine: Engine, cam: str, verdict: Verdict, minute: float) -> State:
    at = T0 + dt.timedelta(minutes=minute)
    with engine.connect() as conn:
        state, _ = repo.load_camera(conn, cam)
    new, transitions = step(state, verdict, at, P)
    result = CheckResult(cam, at, verdict, "test", 1.0, numbers={"luma": 80.0})
    with engine.begin() as conn:
        repo.record_check(conn, result, 60.0, new, transitions, None, "node-a", {})
    return new


def test_incident_lifecycle_and_outbox_in_one_transaction(engine: Engine) -> None:
    sync(engine, ["YD-01"])
    for m, v in enumerate([Verdict.OK, Verdict.BLACK, Verdict.BLACK, Verdict.BLACK, Verdict.OK, Verdict.OK]):
        do_check(engine, "YD-01", v, m)
    with engine.connect() as conn:
        (inc,) = repo.incident_rows(conn)
        assert (inc.kind, inc.severity) == ("black", "down")
        assert inc.started_at == T0 + dt.timedelta(minutes=1) and inc.closed_at == T0 + dt.timedelta(minutes=4)
        events = [r.event for r in conn.execute(select(notifications.c.event).order_by(notifications.c.id))]
        assert events == ["opened", "closed"]
        assert conn.execute(select(func.count()).select_from(checks)).scalar() == 6
        assert conn.execute(select(cameras.c.status).where(cameras.c.id == "YD-01")).scalar() == "ok"


def test_restart_in_the_middle_resumes_the_same_incident(engine: Engine, db_url: str) -> None:
    sync(engine, ["YD-02"])
    for m in range(3):
        do_check(engine, "YD-02", Verdict.OFFLINE, m)
    engine.dispose()  # the process dies; a new one opens the database
    fresh = repo.make_engine(db_url)
    try:
        s = do_check(fresh, "YD-02", Verdict.OFFLINE, 3)
        assert s.status is Status.DOWN
        with fresh.connect() as conn:
            assert len(repo.incident_rows(conn, open_only=True)) == 1
        do_check(fresh, "YD-02", Verdict.OK, 4)
        do_check(fresh, "YD-02", Verdict.OK, 5)
        with fresh.connect() as conn:
            rows = repo.incident_rows(conn)
            assert len(rows) == 1 and rows[0].closed_at is not None
    finally:
        fresh.dispose()


def test_a_failed_write_stores_nothing(engine: Engine) -> None:
    sync(engine, ["YD-03"])
    do_check(engine, "YD-03", Verdict.OK, 0)
    with engine.connect() as conn:
        state, _ = repo.load_camera(conn, "YD-03")
    new, tr = step(state, Verdict.OK, T0 + dt.timedelta(minutes=1), P)
    bad = CheckResult("YD-03", T0 + dt.timedelta(minutes=1), Verdict.OK, "x", 1.0)
    with pytest.raises(ValueError), engine.begin() as conn:
        repo.record_check(conn, bad, 60.0, new, tr, None, "n", {})
        raise ValueError("disk full")  # anything failing before commit
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(checks).where(checks.c.camera_id == "YD-03")).scalar() == 1


def test_removed_cameras_are_retired_and_leave_the_counts(engine: Engine) -> None:
    sync(engine, ["A", "B"])
    sync(engine, ["A"])
    with engine.connect() as conn:
        assert [r.id for r in repo.camera_rows(conn)] == ["A"]
        assert [r.id for r in repo.camera_rows(conn, include_retired=True)] == ["A", "B"]


def test_baseline_round_trips(engine: Engine) -> None:
    import numpy as np

    sync(engine, ["C"])
    ref = np.arange(320 * 180, dtype=np.uint8).reshape(180, 320)
    b = Baseline(day=ModeBaseline(3, 0.04, 1000.0, 400.0, 66.0, reference=ref))
    with engine.begin() as conn:
        repo.save_baseline(conn, "C", b.to_bytes(), T0)
    with engine.connect() as conn:
        _, stored = repo.load_camera(conn, "C")
    assert stored is not None
    back = Baseline.from_bytes(stored)
    assert back is not None and back.day.samples == 3 and back.day.reference is not None
    assert (back.day.reference == ref).all() and back.night.reference is None


def test_uptime_from_history_counts_gaps_as_unmonitored(engine: Engine) -> None:
    sync(engine, ["D"])
    for m in range(0, 30):
        do_check(engine, "D", Verdict.OK, m)
    # camwatch stopped for 30 minutes, then the camera is found offline for 10 checks, then fine
    for m in range(60, 70):
        do_check(engine, "D", Verdict.OFFLINE, m)
    for m in range(70, 90):
        do_check(engine, "D", Verdict.OK, m)
    with engine.connect() as conn:
        with engine.begin() as c2:
            repo.add_maintenance(c2, T0 + dt.timedelta(minutes=80), T0 + dt.timedelta(minutes=85), "lens", camera_id="D")
        b = history.camera_breakdown(conn, "D", "yen-dinh", T0, T0 + dt.timedelta(minutes=90))
    last_cov = 2 * 60 + 10  # the last check before the stop (minute 29) covers its interval × 2 + 10 s
    assert b.unmonitored_s == pytest.approx(60 * 60 - (29 * 60 + last_cov))
    assert b.down_s == 10 * 60  # from the first failing check (60) to the first good one (70)
    assert b.maintenance_s == 5 * 60
    assert b.degraded_s == 0
    assert b.availability == pytest.approx(b.up_s / (b.up_s + b.down_s))


def test_rollup_keeps_uptime_exact(engine: Engine) -> None:
    from camwatch.store.schema import check_hours

    sync(engine, ["R"])
    pattern = [Verdict.OK] * 50 + [Verdict.BLACK] * 20 + [Verdict.OK] * 60 + [Verdict.OFFLINE] * 5 + [Verdict.OK] * 40
    for m, v in enumerate(pattern):
        do_check(engine, "R", v, m * 1.5)  # every 90 s with a 60 s interval: coverage is interval × 2 + 10 s
    for m in range(200, 240):  # then a gap, then more checks
        do_check(engine, "R", Verdict.OK, m * 1.5)
    window = (T0, T0 + dt.timedelta(hours=7))
    with engine.connect() as conn:
        before = history.camera_breakdown(conn, "R", "yen-dinh", *window)
    with engine.begin() as conn:
        removed = history.rollup(conn, T0 + dt.timedelta(hours=4, minutes=20))
    with engine.connect() as conn:
        after = history.camera_breakdown(conn, "R", "yen-dinh", *window)
        hours = conn.execute(select(func.count()).select_from(check_hours)).scalar()
        left = conn.execute(select(func.count()).select_from(checks).where(checks.c.camera_id == "R")).scalar()
    assert removed > 0 and hours >= 4 and left == len(pattern) + 40 - removed
    assert after == before
