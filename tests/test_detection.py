"""Each picture fault through real encoders (x264 CRF and CBR, encoded in this session), judged check after
check through the daemon's pipeline and state machine; frozen-CBR and a partly covered lens also over RTSP."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from camwatch.analysis import Baseline
from camwatch.config import CheckSettings, Thresholds, adhoc_camera
from camwatch.config.settings import HealthSettings
from camwatch.devices import DeviceFacts
from camwatch.health import Event, State, step
from camwatch.model import Verdict
from camwatch.pipeline import enough_for, judge_check, run_check
from camwatch.sim.corpus import Case, as_read, observations
from camwatch.sim.corpus_clips import write_check_clips
from camwatch.sim.corpus_encode import ensure
from camwatch.sim.fleet import Fleet
from tests.conftest import PASSWORD

TH = Thresholds()
POLICY = HealthSettings()
T0 = dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC)
FAULTS = [("black", Verdict.BLACK), ("dark", Verdict.DARK), ("frozen", Verdict.FROZEN),
          ("frozen_clock", Verdict.FROZEN), ("covered", Verdict.COVERED), ("covered_partial", Verdict.COVERED),
          ("blurred", Verdict.BLURRED), ("moved", Verdict.MOVED)]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def judged(case: Case, folder: Path, seen: list[tuple[int, str]] | None = None) -> tuple[list[Verdict], list[Verdict]]:
    """(verdict of every check, kinds of the incidents opened) through `pipeline.judge_check` and `health.step`;
    `seen` gets each check's keyframes read and its reason."""
    baseline: Baseline | None = None
    state = State()
    verdicts, opened = [], []
    settings = CheckSettings(interval_s=case.every_min * 60, keyframes=case.keyframes)
    for k, obs in observations(case, ensure(case, folder)):
        at = T0 + dt.timedelta(minutes=k * case.every_min)
        obs = as_read(obs, enough_for(settings, baseline, at, TH))  # one keyframe when it settles the check
        result, _, stored = judge_check("cam", at, obs, baseline, TH)
        baseline = stored or baseline
        verdicts.append(result.verdict)
        if seen is not None:
            seen.append((len(obs.keyframes), result.reason))
        state, transitions = step(state, result.verdict, at, POLICY)
        opened += [t.incident.kind for t in transitions if t.event is Event.OPENED and t.incident]
    return verdicts, opened


@pytest.mark.parametrize("rc", ["crf", "cbr"])
@pytest.mark.parametrize(("fault", "verdict"), FAULTS)
def test_each_fault_opens_its_incident_through_real_encoders(corpus: Path, fault: str, verdict: Verdict,
                                                             rc: str) -> None:
    case = Case("astronaut", fault, rc=rc, gop_s=1.0, learn=5, checks=5, variant=2)
    verdicts, opened = judged(case, corpus)
    # a healthy check may have a finding now and then (a quiet minute under the frozen limit): never an incident
    assert verdicts[: case.learn].count(Verdict.OK) >= case.learn - 1, verdicts
    assert opened == [verdict], (verdicts, opened)


@pytest.mark.parametrize(("condition", "rc", "denoise"), [("static", "cbr", True), ("static", "crf", False),
                                                         ("day", "cbr", False), ("night", "crf", True)])
def test_healthy_streams_raise_no_alarm(corpus: Path, condition: str, rc: str, denoise: bool) -> None:
    case = Case("rocket", condition, rc=rc, denoise=denoise, gop_s=1.0, checks=16, every_min=10,
                start_h=22 if condition == "night" else 9)
    verdicts, opened = judged(case, corpus)
    assert opened == [], verdicts
    assert verdicts.count(Verdict.OK) >= len(verdicts) - 2, verdicts  # a single check's finding is no alarm


@pytest.mark.parametrize(("condition", "rc", "denoise", "expected"), [
    ("frozen_clock", "cbr", True, [Verdict.FROZEN]), ("covered_partial", "crf", False, [Verdict.COVERED]),
    ("static", "cbr", True, [])])
def test_h265_through_x265s_own_rate_control(corpus: Path, condition: str, rc: str, denoise: bool,
                                             expected: list[Verdict]) -> None:
    """H.265, as many cameras send it, from an encoder and rate control the simulator does not use (x265: a
    strict CBR through its VBV, CRF): a frozen picture with a ticking clock, a partly covered lens, and a
    static live scene (only the sensor's noise lives) that raises no alarm."""
    healthy = condition == "static"
    case = Case("coffee", condition, rc=rc, denoise=denoise, gop_s=2.0, codec="hevc", variant=1,
                **({"checks": 16, "every_min": 10} if healthy else {}))
    verdicts, opened = judged(case, corpus)
    assert opened == expected, verdicts
    if not healthy:
        assert verdicts[: case.learn] == [Verdict.OK] * case.learn, verdicts


def test_a_frozen_picture_on_a_long_gop_camera_is_frozen(corpus: Path) -> None:
    """An 8 s GOP, CBR behind a temporal denoiser (the encoder re-quantises the hung picture: its change from
    check to check is hardly below a denoised live scene's): in doubt a check reads its second keyframe, 8 s
    on, and the two lack the sensor's noise."""
    case = Case("chelsea", "frozen_clock", rc="cbr", denoise=True, gop_s=8.0, variant=6)  # 4 + 6 checks
    seen: list[tuple[int, str]] = []
    verdicts, opened = judged(case, corpus, seen)
    assert opened == [Verdict.FROZEN], verdicts
    fault = seen[case.learn + 1:]
    assert [n for n, _ in fault] == [2] * len(fault), seen  # in doubt: the second keyframe read
    assert sum("two pictures seconds apart" in why for _, why in fault) >= 3, seen  # judged within the check


def test_an_old_baseline_is_still_readable() -> None:
    import io

    import numpy as np

    buf = io.BytesIO()  # the layout before issue 16: five statistics, no last picture
    np.savez_compressed(buf, day_stats=np.array([3, 0.1, 50.0, 900.0, 100.0]),
                        night_stats=np.array([0, 0.0, 0.0, 0.0, 0.0]))
    b = Baseline.from_bytes(buf.getvalue())
    assert b.day.samples == 3 and b.day.change_samples == 0 and b.last is None


# ------------------------------------------------------------------------------------------ over real RTSP
def _over_rtsp(fleet: Fleet, mount: str, case: Case, prefix: str) -> list[Verdict]:
    names = write_check_clips(case, fleet.clips, prefix)
    cam = adhoc_camera(mount, rtsp_url=fleet.url(mount), user="admin", password=PASSWORD,
                       check=CheckSettings(deadline_s=8.0, connect_timeout_s=2.0))
    baseline: Baseline | None = None
    verdicts = []
    try:
        for name in names:
            fleet.set(mount, name)
            out = run_check(cam, baseline, TH, DeviceFacts())
            baseline = out.stored or baseline
            verdicts.append(out.result.verdict)
    finally:
        fleet.set(mount, "day")
    return verdicts


def test_a_frozen_picture_from_a_padding_cbr_encoder_over_rtsp(fleet: Fleet) -> None:
    case = Case("rocket", "frozen_clock", rc="cbr", gop_s=2.0, learn=4, checks=4)
    verdicts = _over_rtsp(fleet, "detect1", case, "t16-frozen-cbr")
    assert verdicts[: case.learn] == [Verdict.OK] * case.learn, verdicts
    assert verdicts[-3:] == [Verdict.FROZEN] * 3, verdicts  # the first frozen check still differs from the last live one


def test_a_partly_covered_lens_over_rtsp_is_covered_not_moved(fleet: Fleet) -> None:
    case = Case("coffee", "covered_partial", rc="crf", gop_s=2.0, learn=3, checks=3, variant=0)
    verdicts = _over_rtsp(fleet, "detect2", case, "t16-partial")
    assert verdicts == [Verdict.OK] * 3 + [Verdict.COVERED] * 3, verdicts


def test_once_freezing_is_judged_across_checks_a_live_picture_takes_one_keyframe(fleet: Fleet) -> None:
    """The default (`keyframes_when_recent = 1`): with the camera's change between checks learned and its last
    picture recent, a check of a live scene stops at its first keyframe (no within-check comparison: no
    `motion`) and is still judged for freezing (`change`); while learning it reads two."""
    cam = adhoc_camera("day", rtsp_url=fleet.url("day"), user="admin", password=PASSWORD,
                       check=CheckSettings(deadline_s=8.0, connect_timeout_s=2.0, interval_s=10))
    baseline: Baseline | None = None
    profile = None
    reads = []
    for _ in range(7):
        out = run_check(cam, baseline, TH, DeviceFacts(), profile=profile)
        baseline, profile = out.stored or baseline, out.profile or profile
        n = out.result.numbers
        reads.append(("motion" in n, "change" in n, out.result.verdict))
        time.sleep(2.1)  # the scene's next moment: the simulator starts a session where the wall clock is
    assert reads[:4] == [(True, False, Verdict.OK)] + [(True, True, Verdict.OK)] * 3, reads  # learning: two
    assert all(r[1:] == (True, Verdict.OK) for r in reads[4:]), reads  # judged across checks, healthy
    assert (False, True, Verdict.OK) in reads[4:], reads  # and one keyframe was enough


def test_the_probe_stops_when_its_keyframes_settle_the_check(fleet: Fleet) -> None:
    """`enough` is asked SETTLE_PFRAMES P-frames after a keyframe, with the keyframes and P-frame sizes read."""
    from camwatch.probe import Target
    from camwatch.probe.rtsp import SETTLE_PFRAMES, probe_rtsp

    asked: list[tuple[int, int]] = []

    def enough(keys: object, p_sizes: object) -> bool:
        asked.append((len(keys), len(p_sizes)))  # type: ignore[arg-type]
        return answer

    target = Target(fleet.url("day"), "admin", PASSWORD)
    settings = CheckSettings(deadline_s=8.0, connect_timeout_s=2.0)
    answer = True
    one = probe_rtsp(target, settings, enough)
    assert one.ok and len(one.keyframes) == 1 and asked == [(1, len(one.pframe_sizes))], asked
    assert len(one.pframe_sizes) >= SETTLE_PFRAMES
    asked.clear()
    answer = False
    two = probe_rtsp(target, settings, enough)
    assert two.ok and len(two.keyframes) == 2 and [k for k, _ in asked] == [1], asked  # asked once, then read on
    assert len(probe_rtsp(target, settings).keyframes) == 2  # not asked: as many as `keyframes`


def test_one_keyframe_may_settle_a_check_only_when_freezing_is_judged_across_checks() -> None:
    from camwatch.analysis import ModeBaseline
    from camwatch.analysis.frame import grey_of, thumbnail

    rng = np.random.default_rng(3)
    scene = rng.integers(40, 200, (360, 640, 3), np.uint8)
    last = thumbnail(grey_of(scene))
    at = T0
    settings = CheckSettings(interval_s=60)
    learned = Baseline(day=ModeBaseline(samples=5, change_samples=3, change_log=np.log(2.0)), last=last,
                       last_mode="day", last_at=(at - dt.timedelta(seconds=60)).timestamp())
    enough = enough_for(settings, learned, at, TH)
    assert enough is not None
    moved_on = np.roll(scene, 40, axis=1)  # a live scene: much changed since the last check
    assert enough([moved_on], [900] * 5) is True
    assert enough([scene], [900] * 5) is False  # the same picture: read the next keyframe too
    assert enough([], []) is False
    assert enough_for(settings, learned, at + dt.timedelta(minutes=3), TH) is None  # the last picture is too old
    assert enough_for(settings, replace(learned, day=ModeBaseline(samples=5, change_samples=2)), at, TH) is None
    assert enough_for(settings, replace(learned, last_mode="night"), at, TH) is None  # not learned at night
    assert enough_for(settings.model_copy(update={"keyframes_when_recent": 2}), learned, at, TH) is None
    assert enough_for(settings, None, at, TH) is None
