"""The state machine over long synthetic sequences, with explicit timestamps (no sleeping, no mocks)."""

from __future__ import annotations

import datetime as dt

from camwatch.health import Event, Policy, State, Status, Transition, next_interval, resume, step
from camwatch.model import Verdict

T0 = dt.datetime(2026, 11, 28, 7, 0, tzinfo=dt.UTC)
P = Policy(failures_to_open=3, degraded_failures_to_open=3, successes_to_close=2, flap_window_s=3600,
           flap_threshold=4, backoff_after_s=6 * 3600, backoff_max_interval_s=600)
OK, BLACK, OFF, BLUR = Verdict.OK, Verdict.BLACK, Verdict.OFFLINE, Verdict.BLURRED


def run(seq: list[Verdict], state: State | None = None, start: int = 0, maint: set[int] | None = None,
        ) -> tuple[State, list[tuple[int, Transition]]]:
    s = state or State()
    out: list[tuple[int, Transition]] = []
    for i, v in enumerate(seq, start):
        s, ts = step(s, v, T0 + dt.timedelta(minutes=i), P, in_maintenance=i in (maint or set()))
        out += [(i, t) for t in ts]
    return s, out


def events(out: list[tuple[int, Transition]], kind: Event) -> list[int]:
    return [i for i, t in out if t.event is kind]


def test_first_good_check_makes_unknown_ok() -> None:
    s, out = run([OK])
    assert s.status is Status.OK and [t.event for _, t in out] == [Event.STATUS]


def test_short_blips_open_nothing() -> None:
    s, out = run([OK, BLACK, BLACK, OK, OFF, OK, OK])
    assert events(out, Event.OPENED) == [] and s.status is Status.OK


def test_outage_opens_at_the_nth_failure_dated_from_the_first_and_closes_after_m_good() -> None:
    s, out = run([OK, OK, OFF, OFF, OFF, OFF, OK, OK, OK])
    assert events(out, Event.OPENED) == [4]
    opened = next(t for _, t in out if t.event is Event.OPENED)
    assert opened.incident is not None and opened.incident.started_at == T0 + dt.timedelta(minutes=2)
    assert opened.incident.kind is OFF and opened.status_to is Status.DOWN
    assert events(out, Event.CLOSED) == [7]
    closed = next(t for _, t in out if t.event is Event.CLOSED)
    assert closed.closed_at == T0 + dt.timedelta(minutes=6)  # the first good check
    assert s.status is Status.OK


def test_no_recovery_without_the_alert_it_recovers_from() -> None:
    _, out = run([OK, OFF, OFF, OK, OK, OK])
    assert events(out, Event.CLOSED) == [] and events(out, Event.OPENED) == []


def test_degraded_incident_for_picture_problems() -> None:
    s, _ = run([OK, BLUR, BLUR, BLUR])
    assert s.status is Status.DEGRADED and s.incident is not None and s.incident.kind is BLUR


def test_a_worse_fault_replaces_a_milder_incident() -> None:
    s, out = run([OK, BLUR, BLUR, BLUR, OFF, OFF, OFF])
    assert [t.event for _, t in out if t.event in (Event.OPENED, Event.CLOSED)] == [Event.OPENED, Event.CLOSED, Event.OPENED]
    assert s.incident is not None and s.incident.kind is OFF


def test_mixed_down_verdicts_count_as_one_outage() -> None:
    s, out = run([OK, BLACK, Verdict.FROZEN, OFF])
    assert events(out, Event.OPENED) == [3] and s.status is Status.DOWN


def test_maintenance_opens_no_incident_and_shows_as_maintenance() -> None:
    s, out = run([OK, OFF, OFF, OFF, OFF], maint={1, 2, 3, 4})
    assert events(out, Event.OPENED) == [] and s.status is Status.MAINTENANCE
    # maintenance over and still broken: it has failed long enough already, so it opens at once
    s, out = run([OFF], state=s, start=5)
    assert events(out, Event.OPENED) == [5] and s.status is Status.DOWN


def test_flapping_is_detected_once_and_damps_closing() -> None:
    seq = ([OFF] * 3 + [OK] * 2) * 6
    s, out = run(seq)
    assert events(out, Event.FLAPPING) == [17]  # the 4th incident within the hour
    # once flapping, closing needs twice as many good checks, so fewer incidents than cycles
    assert len(events(out, Event.OPENED)) < 6 and s.flapping


def test_flapping_ends_when_the_window_empties() -> None:
    s, _ = run(([OFF] * 3 + [OK] * 2) * 4)
    s, out = run([OK] * 70, state=s, start=20)
    assert events(out, Event.STEADY) and not s.flapping


def test_long_outage_backs_off_and_returns_on_first_good_check() -> None:
    s, _ = run([OFF] * 3)
    assert next_interval(s, 60, T0 + dt.timedelta(hours=1), P) == 60
    assert next_interval(s, 60, T0 + dt.timedelta(hours=6.5), P) == 120  # doubles at 6 h, then every hour
    assert next_interval(s, 60, T0 + dt.timedelta(hours=7.5), P) == 240
    assert next_interval(s, 60, T0 + dt.timedelta(hours=30), P) == 600
    s, _ = step(s, OK, T0 + dt.timedelta(hours=30), P)
    assert next_interval(s, 60, T0 + dt.timedelta(hours=30), P) == 60


def test_state_round_trips_through_json_mid_incident() -> None:
    s, _ = run([OK, OFF, OFF, OFF, OK])
    back = State.from_json(s.to_json())
    assert back == s
    # restart in the middle: continuing from the stored state gives the same outcome as never stopping
    cont, out_a = run([OK, OFF, OFF], state=back, start=5)
    ref, out_b = run([OK, OFF, OFF], state=s, start=5)
    assert cont == ref and [t.event for _, t in out_a] == [t.event for _, t in out_b]


def test_resume_after_a_gap_restarts_streaks_but_keeps_the_incident() -> None:
    s, _ = run([OK, OFF, OFF, OFF, OK])
    later = T0 + dt.timedelta(hours=5)
    r = resume(s, later, max_gap_s=130)
    assert r.ok_streak == 0 and r.incident == s.incident
    assert resume(s, T0 + dt.timedelta(minutes=5), max_gap_s=130) == s


def test_a_week_of_random_faults_never_duplicates_or_orphans_incidents() -> None:
    import random

    rnd = random.Random(7)
    s = State()
    open_count = 0
    for i in range(7 * 24 * 60):
        v = rnd.choice([OK] * 8 + [OFF, BLACK, BLUR, Verdict.MOVED])
        s, ts = step(s, v, T0 + dt.timedelta(minutes=i), P)
        for t in ts:
            if t.event is Event.OPENED:
                open_count += 1
                assert open_count == 1, "two incidents open at once"
            elif t.event is Event.CLOSED:
                open_count -= 1
                assert open_count == 0, "closed an incident that was not open"
        assert (s.incident is not None) == (open_count == 1)


def test_failures_to_open_can_be_set_per_kind() -> None:
    p = Policy(failures_to_open=3, degraded_failures_to_open=3, failures_by_kind={"moved": 5})
    s = State()
    opened_at = None
    for i, v in enumerate([OK] + [Verdict.MOVED] * 6):
        s, ts = step(s, v, T0 + dt.timedelta(minutes=i), p)
        if any(t.event is Event.OPENED for t in ts):
            opened_at = i
    assert opened_at == 5
