"""Shared value types: the closed vocabularies and the records passed between layers."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SNAPSHOT_WIDTH = 640  # pictures kept for snapshots and emails are at most this wide


class Verdict(enum.StrEnum):
    """The one closed vocabulary of what a check found, most fundamental first."""

    OK = "ok"
    OFFLINE = "offline"
    TIMEOUT = "timeout"
    AUTH_FAILED = "auth_failed"
    NOT_FOUND = "not_found"
    PROTOCOL_ERROR = "protocol_error"
    NO_VIDEO = "no_video"
    BLACK = "black"
    FROZEN = "frozen"
    COVERED = "covered"
    BLURRED = "blurred"
    MOVED = "moved"
    DARK = "dark"  # a live but far too dark picture (the IR illuminator or the light failed): degraded, not down
    CLOCK = "clock"  # the camera's clock is wrong (ONVIF): its recordings are no evidence
    NOT_RECORDING = "not_recording"  # the camera's own recording has stopped (ONVIF Profile G)


# When several verdicts apply, the first in this order wins (no picture before picture quality).
PRECEDENCE: tuple[Verdict, ...] = (
    Verdict.OFFLINE,
    Verdict.TIMEOUT,
    Verdict.AUTH_FAILED,
    Verdict.NOT_FOUND,
    Verdict.PROTOCOL_ERROR,
    Verdict.NO_VIDEO,
    Verdict.BLACK,
    Verdict.FROZEN,
    Verdict.DARK,  # a picture too dark to judge cover, blur or aim
    Verdict.COVERED,
    Verdict.BLURRED,
    Verdict.MOVED,
    Verdict.CLOCK,
    Verdict.NOT_RECORDING,
)

# Verdicts that mean "no usable picture" (status down); the rest of the faults are "degraded".
DOWN_VERDICTS = frozenset(PRECEDENCE[:PRECEDENCE.index(Verdict.FROZEN) + 1])


class ErrorKind(enum.StrEnum):
    """Why a probe (RTSP, HTTP snapshot or ONVIF) failed: the one error vocabulary; each maps to one verdict."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    PROTOCOL = "protocol"
    NO_VIDEO = "no_video"
    DECODE = "decode"
    NOT_SUPPORTED = "not_supported"  # the device lacks the service asked for (ONVIF)

    @property
    def verdict(self) -> Verdict:
        return {
            ErrorKind.UNREACHABLE: Verdict.OFFLINE,
            ErrorKind.TIMEOUT: Verdict.TIMEOUT,
            ErrorKind.AUTH: Verdict.AUTH_FAILED,
            ErrorKind.NOT_FOUND: Verdict.NOT_FOUND,
            ErrorKind.PROTOCOL: Verdict.PROTOCOL_ERROR,
            ErrorKind.NO_VIDEO: Verdict.NO_VIDEO,
            ErrorKind.DECODE: Verdict.PROTOCOL_ERROR,
            ErrorKind.NOT_SUPPORTED: Verdict.PROTOCOL_ERROR,
        }[self]


@dataclass(frozen=True)
class StreamFacts:
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_bps: float | None = None
    time_to_first_frame_s: float | None = None
    gop_s: float | None = None  # seconds between keyframes, by their arrival (None: fewer than two seen)
    transport: str | None = None  # the RTSP transport that worked
    intra_only: bool = False  # every frame a keyframe (MJPEG)
    timestamp_jump_s: float | None = None  # the stream's timestamps jumped (a camera reboot): by how much

    def as_dict(self) -> dict[str, Any]:
        return {
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": _round(self.fps, 2),
            "bitrate": _round(self.bitrate_bps, 0),
            "time_to_first_frame_s": _round(self.time_to_first_frame_s, 3),
            "gop_s": _round(self.gop_s, 2),
            "transport": self.transport,
            "intra_only": self.intra_only,
            "timestamp_jump_s": _round(self.timestamp_jump_s, 1),
        }


@dataclass(frozen=True)
class Observation:
    """What a probe brought back: small keyframes plus the facts of the stream, or a failure."""

    ok: bool
    duration_s: float
    error: ErrorKind | None = None
    reason: str = ""
    stream: StreamFacts = field(default_factory=StreamFacts)
    keyframes: list[np.ndarray] = field(default_factory=list)  # small BGR uint8 images
    keyframe_times: list[float] = field(default_factory=list)  # stream seconds
    pframe_sizes: list[int] = field(default_factory=list)
    keyframe_sizes: list[int] = field(default_factory=list)
    snapshot: np.ndarray | None = None  # the last keyframe, at most 640 wide, for the JPEG
    detail: str = ""  # the library's error type and message (never its URL: it holds the password)

    @classmethod
    def failure(cls, error: ErrorKind, reason: str, duration_s: float, *, detail: str = "",
                stream: StreamFacts | None = None) -> Observation:
        return cls(ok=False, duration_s=duration_s, error=error, reason=reason, detail=detail,
                   stream=stream or StreamFacts())


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the picture, with the numbers that justify it."""

    kind: Verdict
    reason: str
    numbers: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "reason": self.reason,
            "numbers": {k: _round(v, 4) for k, v in self.numbers.items()},
        }


def _round(v: float | None, nd: int) -> float | None:
    return None if v is None else round(float(v), nd)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check of one camera: what the CLI prints, the daemon records and emails quote."""

    camera: str
    started_at: dt.datetime
    verdict: Verdict
    reason: str
    duration_s: float
    findings: tuple[Finding, ...] = ()
    stream: StreamFacts = field(default_factory=StreamFacts)
    numbers: Mapping[str, float] = field(default_factory=dict)
    error: ErrorKind | None = None
    detail: str = ""
    mode: str | None = None
    jpeg: bytes | None = field(default=None, repr=False)  # the picture of this check as a JPEG, once encoded
    picture: Any = field(default=None, repr=False, compare=False)  # … or still the decoded image (BGR array):
    # encoded only when it is written (`snapshots.jpeg_of`), which a healthy check mostly is not
    snapshot: str | None = None  # where the picture was saved, when it was
    onvif: Mapping[str, Any] | None = None  # device facts and clock, when the camera speaks ONVIF

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
            "snapshot": self.snapshot,
            **({"device": self.onvif.get("device"), "clock_offset_s": self.onvif.get("clock_offset_s"),
                "onvif": dict(self.onvif)} if self.onvif is not None else {}),
        }


def worst(findings: Sequence[Finding]) -> Finding | None:
    """The most fundamental finding, by PRECEDENCE."""
    if not findings:
        return None
    return min(findings, key=lambda f: PRECEDENCE.index(f.kind))
