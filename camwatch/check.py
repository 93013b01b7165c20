"""One check of one camera, end to end: probe (I/O) → analyse (pure) → verdict, snapshot on disk."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from camwatch.analysis import Analysis, Baseline, Thresholds, analyse, update_baseline
from camwatch.model import ErrorKind, Finding, Observation, StreamFacts, Verdict, worst
from camwatch.probe.rtsp import RtspSettings, probe_rtsp
from camwatch.probe.snapshot import probe_snapshot
from camwatch.urls import strip_credentials

if TYPE_CHECKING:
    from camwatch.config import ResolvedCamera

log = logging.getLogger(__name__)

SNAPSHOT_MAX_BYTES = 300_000

Probe = Callable[[str, RtspSettings], Observation]


@dataclass
class CheckResult:
    camera: str
    started_at: dt.datetime
    verdict: Verdict
    reason: str
    duration_s: float
    findings: list[Finding] = field(default_factory=list)
    stream: StreamFacts = field(default_factory=StreamFacts)
    numbers: dict[str, float] = field(default_factory=dict)
    error: ErrorKind | None = None
    detail: str = ""
    mode: str | None = None
    snapshot: Path | None = None
    jpeg: bytes | None = field(default=None, repr=False)
    onvif: dict[str, Any] | None = None  # device facts and clock, when the camera speaks ONVIF

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "time": self.started_at.isoformat(),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "error": str(self.error) if self.error else None,
            "findings": [f.as_dict() for f in self.findings],
            "stream": self.stream.as_dict(),
            "mode": self.mode,
            "numbers": {k: round(v, 4) for k, v in self.numbers.items()},
            "duration_s": round(self.duration_s, 3),
            "snapshot": str(self.snapshot) if self.snapshot else None,
            **({"device": self.onvif.get("device"), "clock_offset_s": self.onvif.get("clock_offset_s"),
                "onvif": self.onvif} if self.onvif is not None else {}),
        }


def judge(camera: str, started_at: dt.datetime, obs: Observation, baseline: Baseline | None,
          th: Thresholds) -> tuple[CheckResult, Baseline | None]:
    """Pure: an observation and the baseline → the result and the updated baseline (None if unchanged)."""
    if not obs.ok:
        assert obs.error is not None
        return CheckResult(camera, started_at, obs.error.verdict, obs.reason, obs.duration_s, stream=obs.stream,
                           error=obs.error, detail=obs.detail), None
    a: Analysis = analyse(obs.keyframes, obs.pframe_sizes, obs.keyframe_sizes, baseline, th)
    top = worst(a.findings)
    numbers = dict(a.numbers)
    if obs.stream.fps:
        numbers["fps"] = obs.stream.fps
    if obs.stream.bitrate_bps:
        numbers["bitrate_bps"] = obs.stream.bitrate_bps
    if top is None:
        reason = "the camera streams a live, sharp picture"
        if len(obs.keyframes) < 2:
            reason += " (one keyframe only: freezing could not be judged)"
        result = CheckResult(camera, started_at, Verdict.OK, reason, obs.duration_s, [], obs.stream, numbers, mode=a.mode)
        return result, update_baseline(baseline, a)
    return CheckResult(camera, started_at, top.kind, top.reason, obs.duration_s, a.findings, obs.stream, numbers,
                       mode=a.mode), None


def check_camera(camera: str, url: str, settings: RtspSettings, baseline: Baseline | None, th: Thresholds,
                 now: dt.datetime | None = None, probe: Probe = probe_rtsp) -> tuple[CheckResult, Baseline | None]:
    started = now or dt.datetime.now(dt.UTC)
    obs = probe(url, settings)
    result, new_baseline = judge(camera, started, obs, baseline, th)
    if obs.snapshot is not None:
        result.jpeg = encode_snapshot(obs.snapshot)
    return result, new_baseline


def encode_snapshot(img: Any) -> bytes:
    """A JPEG small enough for an email to a phone."""
    quality = 85
    while True:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("cannot encode JPEG")
        if len(buf) <= SNAPSHOT_MAX_BYTES or quality <= 30:
            return buf.tobytes()
        quality -= 15


def write_atomic(path: Path, data: bytes) -> Path:
    """Write a file so that a crash or a full disk never leaves half of it behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------- a configured camera, ONVIF included

@dataclass
class OnvifFacts:
    next_poll: float  # monotonic
    clock_offset_s: float | None
    stream_uri: str | None
    snapshot_uri: str | None = None
    recording_until: dt.datetime | None = None
    error: str | None = None
    reason: str = ""


def facts_from(r: Any, prev: OnvifFacts | None = None, next_poll: float = 0.0) -> OnvifFacts:
    """What a check needs from an ONVIF poll (`probe.onvif.OnvifResult`); on failure, what was known before."""
    ok_stream = r.stream if r.ok else None
    return OnvifFacts(
        next_poll=next_poll,
        clock_offset_s=r.clock_offset_s if r.ok else (prev.clock_offset_s if prev else None),
        stream_uri=ok_stream.rtsp_uri if ok_stream else (prev.stream_uri if prev else None),
        snapshot_uri=ok_stream.snapshot_uri if ok_stream else (prev.snapshot_uri if prev else None),
        recording_until=r.recording_until if r.ok else (prev.recording_until if prev else None),
        error=str(r.error) if r.error else None, reason=r.reason)


def onvif_failure(camera_id: str, facts: OnvifFacts | None) -> CheckResult:
    """No stream address: the camera is configured by ONVIF only and ONVIF failed."""
    kind = facts.error if facts else "unreachable"
    verdict = {"unreachable": Verdict.OFFLINE, "timeout": Verdict.TIMEOUT, "auth": Verdict.AUTH_FAILED}.get(
        str(kind), Verdict.PROTOCOL_ERROR)
    reason = f"ONVIF: {facts.reason}" if facts and facts.reason else "ONVIF gave no stream address"
    return CheckResult(camera_id, dt.datetime.now(dt.UTC), verdict, reason, 0.0)


def clock_finding(result: CheckResult, offset: float) -> CheckResult:
    ahead = "ahead" if offset > 0 else "behind"
    f = Finding(Verdict.CLOCK, f"the camera's clock is {abs(offset):.0f} s {ahead}: its recordings are no evidence",
                {"clock_offset_s": offset})
    result.findings = [f, *result.findings]
    result.verdict, result.reason = Verdict.CLOCK, f.reason
    return result


def check_configured(cam: ResolvedCamera, settings: RtspSettings, baseline: Baseline | None, th: Thresholds,
                     facts: OnvifFacts | None, check: Callable[..., tuple[CheckResult, Baseline | None]] = check_camera,
                     ) -> tuple[CheckResult, Baseline | None]:
    """The camera's picture from its configured source (RTSP, or an HTTP snapshot), ONVIF's address when it has
    none of its own, and the clock verdict when ONVIF says the camera's clock is wrong."""
    if cam.source == "snapshot":
        url = cam.cfg.snapshot_url or (facts.snapshot_uri if facts else None)
        if url is None:
            return onvif_failure(cam.id, facts), None
        password = cam.password.get_secret_value() if cam.password else None

        def probe(u: str, s: RtspSettings) -> Observation:
            return probe_snapshot(u, cam.user, password, s)

        result, new = check(cam.id, strip_credentials(url), settings, baseline, th, probe=probe)
    elif cam.cfg.rtsp_url is None and (facts is None or facts.stream_uri is None):
        return onvif_failure(cam.id, facts), None
    else:
        result, new = check(cam.id, cam.url(facts.stream_uri if facts else None), settings, baseline, th)
    return apply_clock(result, new, facts, cam.check.clock_tolerance_s, cam.check.recording_max_age_s)


def apply_clock(result: CheckResult, new_baseline: Baseline | None, facts: OnvifFacts | None,
                tolerance_s: float, recording_max_age_s: float = 900.0) -> tuple[CheckResult, Baseline | None]:
    """ONVIF's findings on a camera whose picture is fine: a wrong clock, then a recording that stopped."""
    if facts is None:
        return result, new_baseline
    if facts.clock_offset_s is not None:
        result.numbers["clock_offset_s"] = facts.clock_offset_s
    if facts.recording_until is not None:
        result.numbers["recording_age_s"] = (result.started_at - facts.recording_until).total_seconds()
    if not result.ok:
        return result, new_baseline
    if facts.clock_offset_s is not None and abs(facts.clock_offset_s) > tolerance_s:
        return clock_finding(result, facts.clock_offset_s), None
    age = result.numbers.get("recording_age_s")
    if age is not None and age > recording_max_age_s:
        f = Finding(Verdict.NOT_RECORDING, f"the camera stopped recording: its newest recording is {age / 60:.0f} min old",
                    {"recording_age_s": age})
        result.findings = [f, *result.findings]
        result.verdict, result.reason = f.kind, f.reason
        return result, None
    return result, new_baseline
