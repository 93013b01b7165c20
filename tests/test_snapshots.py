"""The daemon's pictures: what is written when (issue 17: a healthy camera's picture is not re-encoded and
rewritten on every check), and never a picture under a wrong name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from camwatch.config.settings import HealthSettings
from camwatch.health import State, Status, step
from camwatch.model import CheckResult, Verdict
from camwatch.snapshots import SnapshotStore, jpeg_of

T0 = dt.datetime(2026, 12, 1, 7, tzinfo=dt.UTC)
POLICY = HealthSettings(failures_to_open=2)


def result(k: int, verdict: Verdict = Verdict.OK) -> CheckResult:
    img = np.full((36, 64, 3), 40 + k, np.uint8)  # each check's picture differs
    return CheckResult("cam", T0 + dt.timedelta(minutes=k), verdict, "", 1.0, picture=img)


def test_a_healthy_cameras_pictures_are_refreshed_every_few_minutes_not_every_check(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, refresh_s=300)
    state = State()
    written = []
    for k in range(12):  # a check a minute
        r = result(k)
        state, tr = step(state, r.verdict, r.started_at, POLICY)
        written.append(sorted(store.keep(r, state, tr)))
    assert written[0] == ["last_good", "latest"]  # the first check (and its state change: unknown → ok)
    assert [i for i, w in enumerate(written) if w] == [0, 5, 10]  # then every 5 minutes
    assert (tmp_path / "cam" / "latest.jpg").read_bytes() == jpeg_of(result(10))


def test_a_change_of_state_writes_the_pictures_at_once(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, refresh_s=300)
    state = State()
    seen = {}
    for k, v in enumerate([Verdict.OK, Verdict.OK, Verdict.BLACK, Verdict.BLACK, Verdict.BLACK, Verdict.OK,
                           Verdict.OK]):
        r = result(k, v)
        state, tr = step(state, v, r.started_at, POLICY)
        seen[k] = sorted(store.keep(r, state, tr))
    d = tmp_path / "cam"
    assert seen[1] == []  # healthy, nothing changed, written a minute ago
    # (checks are a minute apart: `result(k)`'s time; the refresh follows the checks' own times)
    assert (d / "first-bad.jpg").read_bytes() == jpeg_of(result(2, Verdict.BLACK))  # the first bad one, at once
    assert seen[2] == ["latest"]  # and as the latest (the last good one stays the healthy one)
    assert "first_bad" in seen[3] and "last_good_at_open" in seen[3]  # the incident opens with its pair
    good = (d / "last-good.jpg").read_bytes()  # never a black frame
    assert good in {jpeg_of(result(k)) for k in (0, 5, 6)} and good not in {jpeg_of(result(k, Verdict.BLACK))
                                                                           for k in (2, 3, 4)}
    assert seen[5] == ["last_good", "latest"]  # the first good picture after bad ones: at once
    assert state.status is Status.OK and seen[6] == ["last_good", "latest"]  # recovered (ok twice): at once
