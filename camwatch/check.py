"""One check of one camera, end to end: probe (I/O) → analyse (pure) → verdict, snapshot on disk."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from camwatch.analysis import Analysis, Baseline, Thresholds, analyse, update_baseline
from camwatch.model import ErrorKind, Finding, Observation, StreamFacts, Verdict, worst
from camwatch.probe.rtsp import RtspSettings, probe_rtsp

log = logging.getLogger(__name__)

SNAPSHOT_MAX_BYTES = 300_000


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
                 now: dt.datetime | None = None) -> tuple[CheckResult, Baseline | None]:
    started = now or dt.datetime.now(dt.UTC)
    obs = probe_rtsp(url, settings)
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
