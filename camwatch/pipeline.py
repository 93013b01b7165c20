"""One check of one camera, end to end: the one pipeline that the daemon and `camwatch check` share.

    probe (I/O) → analyse (pure) → judge (pure) → device facts (ONVIF clock, recording) → CheckResult

Values flow one way and the result is frozen. What surrounds a check (its state machine, the
database, snapshot files, metrics) belongs to the caller: `job.CheckJob` in the daemon, `cli.check`
on the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from camwatch import probe
from camwatch.analysis import Analysis, Baseline, analyse, frozen, judged_across, remember, update_baseline
from camwatch.config import ResolvedCamera, Thresholds
from camwatch.config.settings import CheckSettings
from camwatch.devices import DeviceFacts, OnvifFacts
from camwatch.model import CheckResult, Finding, Observation, Verdict, worst
from camwatch.profile import StreamProfile, budget, learn
from camwatch.urls import split_credentials


@dataclass(frozen=True)
class Outcome:
    result: CheckResult
    baseline: Baseline | None  # the camera's learned baseline, updated by a healthy check; None: unchanged
    profile: StreamProfile | None = None  # the camera's stream profile, updated when a picture arrived
    recent: Baseline | None = None  # the baseline with this check's picture kept for the next (any verdict)

    @property
    def stored(self) -> Baseline | None:
        """What to store as the camera's baseline: the learned one and this check's picture; None: unchanged."""
        return self.recent or self.baseline


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_check(cam: ResolvedCamera, baseline: Baseline | None, thresholds: Thresholds,
              devices: DeviceFacts | None = None, *, recovering: bool = False, settings: CheckSettings | None = None,
              profile: StreamProfile | None = None, now: Callable[[], dt.datetime] = utcnow,
              probes: Callable[[str], probe.Probe] = probe.get) -> Outcome:
    """Check one camera from its configured source (RTSP or HTTP snapshot; ONVIF's address when it has none).

    `profile`: what this camera's stream is known to do; it budgets the check (a long GOP gets the time it
    needs) and comes back updated. `recovering`: the camera was down; a camera without a clock battery comes
    back in 1970, so its ONVIF facts are polled again before the clock is judged."""
    settings = settings or cam.check
    enough = None
    if cam.source == "rtsp":
        settings = budget(settings, profile)
        if profile is not None and profile.gop_s is not None:  # the stream's facts are known already
            enough = enough_for(settings, baseline, now(), thresholds)
    facts, fresh = devices.facts(cam) if devices is not None and cam.cfg.onvif is not None else (None, False)
    started = now()
    kind, target = target_of(cam, facts)
    if target is None:
        return Outcome(onvif_failure(cam.id, started, facts), None)
    obs = probes(kind)(target, settings, enough)
    result, new_baseline, recent = judge_check(cam.id, started, obs, baseline, thresholds)
    if obs.ok and cam.source == "rtsp":
        profile = learn(profile, obs.stream)
        if result.ok and len(obs.keyframes) < 2 and profile.long_gop:
            how = "live since the last check beyond doubt" if "change" in result.numbers else "freezing not judged"
            result = replace(result, reason=f"the camera streams a live, sharp picture (a keyframe every "
                                            f"{profile.gop_s:.3g} s, one read: {how})")
    if devices is not None and facts is not None and recovering and not fresh and result.ok:
        facts, _ = devices.facts(cam, fresh=True)
    result, new_baseline = apply_device(result, new_baseline, facts, settings)
    if recent is not None:  # the device's findings may have kept the picture from being learned
        recent = replace(new_baseline or baseline or Baseline(), last=recent.last, last_mode=recent.last_mode,
                         last_at=recent.last_at)
    return Outcome(replace(result, picture=obs.snapshot, onvif=facts.raw if facts else None), new_baseline,
                   profile if obs.ok else None, recent)


def enough_for(settings: CheckSettings, baseline: Baseline | None, at: dt.datetime,
               th: Thresholds) -> probe.Enough | None:
    """Pure: when a check may stop before `settings.keyframes` (None: it reads them all). Once freezing is judged
    across checks (the last picture is recent, the camera's change between checks learned), after
    `keyframes_when_recent` keyframes if these show a live picture beyond doubt (`analysis.frozen.settled`)."""
    n = settings.keyframes_when_recent
    if baseline is None or n >= settings.keyframes or not judged_across(baseline, at.timestamp(),
                                                                        3 * settings.interval_s, th):
        return None

    def enough(keyframes: Sequence[np.ndarray], pframe_sizes: Sequence[int]) -> bool:
        return len(keyframes) >= n and frozen.settled(keyframes[-1], pframe_sizes, baseline, th)

    return enough


def target_of(cam: ResolvedCamera, facts: OnvifFacts | None) -> tuple[str, probe.Target | None]:
    """The probe kind and where it looks: the configured address, else the one ONVIF gave."""
    password = cam.password.get_secret_value() if cam.password else None
    if cam.source == "snapshot":
        url = cam.cfg.snapshot_url or (facts.snapshot_uri if facts else None)
    else:
        url = cam.cfg.rtsp_url or (facts.stream_uri if facts else None)
    if url is None:
        return cam.source, None
    bare, _, _ = split_credentials(url)  # a device may hand out its URI with credentials in it: ours replace them
    return cam.source, probe.Target(bare, cam.user, password)


def judge(camera: str, started_at: dt.datetime, obs: Observation, baseline: Baseline | None,
          th: Thresholds) -> tuple[CheckResult, Baseline | None]:
    """Pure: an observation and the baseline → the result and the learned baseline (None if unchanged)."""
    result, learned, _ = judge_check(camera, started_at, obs, baseline, th)
    return result, learned


def judge_check(camera: str, started_at: dt.datetime, obs: Observation, baseline: Baseline | None,
                th: Thresholds) -> tuple[CheckResult, Baseline | None, Baseline | None]:
    """Pure: an observation and the baseline → the result, the learned baseline (None if unchanged) and the
    baseline to store, with this check's picture kept for the next check's comparison (None: no picture)."""
    if not obs.ok:
        assert obs.error is not None
        return CheckResult(camera, started_at, obs.error.verdict, obs.reason, obs.duration_s, stream=obs.stream,
                           error=obs.error, detail=obs.detail), None, None
    at = started_at.timestamp()
    a: Analysis = analyse(obs.keyframes, obs.pframe_sizes, obs.keyframe_sizes, baseline, th, at=at)
    top = worst(a.findings)
    numbers = dict(a.numbers)
    if obs.stream.fps:
        numbers["fps"] = obs.stream.fps
    if obs.stream.bitrate_bps:
        numbers["bitrate_bps"] = obs.stream.bitrate_bps
    if top is None:
        reason = "the camera streams a live, sharp picture"
        if len(obs.keyframes) < 2 and "change" not in numbers:
            reason += " (one keyframe only: freezing could not be judged)"
        result = CheckResult(camera, started_at, Verdict.OK, reason, obs.duration_s, (), obs.stream, numbers, mode=a.mode)
        learned = update_baseline(baseline, a)
        return result, learned, remember(learned, a, at)
    return CheckResult(camera, started_at, top.kind, top.reason, obs.duration_s, tuple(a.findings), obs.stream, numbers,
                       mode=a.mode), None, remember(baseline, a, at)


def onvif_failure(camera_id: str, at: dt.datetime, facts: OnvifFacts | None) -> CheckResult:
    """No stream address: the camera is configured by ONVIF only and ONVIF failed."""
    if facts is None or facts.error is None:
        return CheckResult(camera_id, at, Verdict.OFFLINE if facts is None else Verdict.PROTOCOL_ERROR,
                           "ONVIF gave no stream address", 0.0)
    return CheckResult(camera_id, at, facts.error.verdict, f"ONVIF: {facts.reason}", 0.0, error=facts.error)


def apply_device(result: CheckResult, new_baseline: Baseline | None, facts: OnvifFacts | None,
                 settings: CheckSettings) -> tuple[CheckResult, Baseline | None]:
    """Pure: ONVIF's findings on a camera whose picture is fine: a wrong clock, then a recording that stopped."""
    if facts is None:
        return result, new_baseline
    numbers = dict(result.numbers)
    if facts.clock_offset_s is not None:
        numbers["clock_offset_s"] = facts.clock_offset_s
    if facts.recording_until is not None:
        numbers["recording_age_s"] = (result.started_at - facts.recording_until).total_seconds()
    result = replace(result, numbers=numbers)
    if not result.ok:
        return result, new_baseline
    offset, age = facts.clock_offset_s, numbers.get("recording_age_s")
    if offset is not None and abs(offset) > settings.clock_tolerance_s:
        ahead = "ahead" if offset > 0 else "behind"
        f = Finding(Verdict.CLOCK, f"the camera's clock is {abs(offset):.0f} s {ahead}: its recordings are no evidence",
                    {"clock_offset_s": offset})
    elif age is not None and age > settings.recording_max_age_s:
        f = Finding(Verdict.NOT_RECORDING, f"the camera stopped recording: its newest recording is {age / 60:.0f} min old",
                    {"recording_age_s": age})
    else:
        return result, new_baseline
    return replace(result, findings=(f, *result.findings), verdict=f.kind, reason=f.reason), None
