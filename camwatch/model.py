"""Shared value types: the closed vocabularies and the records passed between layers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
    Verdict.COVERED,
    Verdict.BLURRED,
    Verdict.MOVED,
    Verdict.CLOCK,
    Verdict.NOT_RECORDING,
)

# Verdicts that mean "no usable picture" (status down); the rest of the faults are "degraded".
DOWN_VERDICTS = frozenset(PRECEDENCE[:8])


class ErrorKind(enum.StrEnum):
    """Why a probe could not get a picture; each maps to one verdict."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    PROTOCOL = "protocol"
    NO_VIDEO = "no_video"
    DECODE = "decode"

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
        }[self]


@dataclass(frozen=True)
class StreamFacts:
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_bps: float | None = None
    time_to_first_frame_s: float | None = None
    gop_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": _round(self.fps, 2),
            "bitrate": _round(self.bitrate_bps, 0),
            "time_to_first_frame_s": _round(self.time_to_first_frame_s, 3),
            "gop_s": _round(self.gop_s, 2),
        }


@dataclass
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
    def failure(cls, error: ErrorKind, reason: str, duration_s: float) -> Observation:
        return cls(ok=False, duration_s=duration_s, error=error, reason=reason)


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


def worst(findings: list[Finding]) -> Finding | None:
    """The most fundamental finding, by PRECEDENCE."""
    if not findings:
        return None
    return min(findings, key=lambda f: PRECEDENCE.index(f.kind))
