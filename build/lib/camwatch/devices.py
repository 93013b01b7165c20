"""What ONVIF says about each camera (device facts, clock, stream addresses, recording), polled when due.

A cache in front of `probe.onvif`: a camera's device is polled every `onvif_interval_s`, and on
demand after a recovery. What is known survives a failed poll. The caller decides what a poll
means beyond the check (the daemon stores it and updates the camera's metrics: `on_poll`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from camwatch.model import ErrorKind

if TYPE_CHECKING:
    from camwatch.config import ResolvedCamera
    from camwatch.probe.onvif import OnvifResult


@dataclass(frozen=True)
class OnvifFacts:
    """What a check needs from ONVIF; on a failed poll, what was known before (with the error)."""

    next_poll: float  # monotonic
    clock_offset_s: float | None = None
    stream_uri: str | None = None
    snapshot_uri: str | None = None
    recording_until: dt.datetime | None = None
    error: ErrorKind | None = None
    reason: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)  # the last poll, for `camwatch check` to show


def facts_from(r: OnvifResult, prev: OnvifFacts | None = None, next_poll: float = 0.0) -> OnvifFacts:
    if not r.ok:
        keep = prev or OnvifFacts(next_poll)
        return OnvifFacts(next_poll, keep.clock_offset_s, keep.stream_uri, keep.snapshot_uri, keep.recording_until,
                          r.error, r.reason, r.as_dict())
    s = r.stream
    return OnvifFacts(next_poll, r.clock_offset_s, s.rtsp_uri if s else (prev.stream_uri if prev else None),
                      s.snapshot_uri if s else (prev.snapshot_uri if prev else None), r.recording_until,
                      None, "", r.as_dict())


class DeviceFacts:
    def __init__(self, on_poll: Callable[[ResolvedCamera, OnvifResult], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on_poll = on_poll
        self.clock = clock
        self._facts: dict[str, OnvifFacts] = {}
        self._lock = threading.Lock()

    def facts(self, cam: ResolvedCamera, fresh: bool = False) -> tuple[OnvifFacts, bool]:
        """The camera's ONVIF facts, polled now if due (or `fresh`); and whether they were polled now."""
        with self._lock:
            known = self._facts.get(cam.id)
        if known is not None and not fresh and self.clock() < known.next_poll:
            return known, False
        from camwatch.probe.onvif import probe_onvif

        o = cam.cfg.onvif
        assert o is not None
        r = probe_onvif(o.host, o.port, cam.onvif_user,
                        cam.onvif_password.get_secret_value() if cam.onvif_password else None,
                        deadline_s=cam.check.deadline_s, profile=o.profile,
                        want_stream=cam.cfg.rtsp_url is None or cam.source == "snapshot")
        if self.on_poll is not None:
            self.on_poll(cam, r)
        f = facts_from(r, known, self.clock() + cam.check.onvif_interval_s)
        with self._lock:
            self._facts[cam.id] = f
        return f, True
