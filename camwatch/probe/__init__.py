"""Probes: talk to a camera and nothing else. One kind per module, one signature, registered here.

Every picture source (`rtsp`, `snapshot`) is a `Probe`: `(Target, CheckSettings, enough) -> Observation`;
`enough`, if given, is asked after each keyframe (with the P-frame sizes read so far) whether the keyframes
read already settle the check, so that it may stop before `settings.keyframes`.
A probe never raises for a bad camera: it returns an `Observation` (ok, or a failure with an
`ErrorKind` and a one-line reason), always within `settings.deadline_s`. ONVIF (`probe.onvif`) is
not a picture source but speaks the same error vocabulary (`model.ErrorKind`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from camwatch.config.settings import CheckSettings
    from camwatch.model import Observation


@dataclass(frozen=True)
class Target:
    """Where a probe looks: the address without credentials, and the credentials apart (never printed)."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)


# (keyframes read, P-frame sizes read) -> True: stop here
Enough = Callable[["Sequence[np.ndarray]", "Sequence[int]"], bool]


class Probe(Protocol):
    def __call__(self, target: Target, settings: CheckSettings, enough: Enough | None = None) -> Observation: ...


# kind → "module:function", imported on first use (PyAV and httpx load only when a check runs)
REGISTRY = {"rtsp": "camwatch.probe.rtsp:probe_rtsp", "snapshot": "camwatch.probe.snapshot:probe_snapshot"}


def get(kind: str) -> Probe:
    module, func = REGISTRY[kind].split(":")
    probe: Probe = getattr(importlib.import_module(module), func)
    return probe
