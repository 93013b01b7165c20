"""Probes: talk to a camera and nothing else. One kind per module, one signature, registered here.

Every picture source (`rtsp`, `snapshot`) is a `Probe`: `(Target, CheckSettings) -> Observation`.
A probe never raises for a bad camera: it returns an `Observation` (ok, or a failure with an
`ErrorKind` and a one-line reason), always within `settings.deadline_s`. ONVIF (`probe.onvif`) is
not a picture source but speaks the same error vocabulary (`model.ErrorKind`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from camwatch.config.settings import CheckSettings
    from camwatch.model import Observation


@dataclass(frozen=True)
class Target:
    """Where a probe looks: the address without credentials, and the credentials apart (never printed)."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)


class Probe(Protocol):
    def __call__(self, target: Target, settings: CheckSettings) -> Observation: ...


# kind → "module:function", imported on first use (PyAV and httpx load only when a check runs)
REGISTRY = {"rtsp": "camwatch.probe.rtsp:probe_rtsp", "snapshot": "camwatch.probe.snapshot:probe_snapshot"}


def get(kind: str) -> Probe:
    module, func = REGISTRY[kind].split(":")
    probe: Probe = getattr(importlib.import_module(module), func)
    return probe
