"""Each camera's stream profile, learned from its healthy checks, and the budget it gives the next check. Pure.

Real cameras differ: GOPs of 1–12 s (smart codecs), 1 fps cameras with a keyframe every 25 s, UDP-only
servers. A check joins a live stream mid-GOP, so it must wait up to a GOP for its first keyframe. The
profile remembers what this camera does (codec, size, fps, GOP, the transport that worked, the time to
its first keyframe) and the budget sizes each check to it, within the configured bounds: a long GOP is a
fact about the camera, never a failure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from camwatch.config.settings import CheckSettings
from camwatch.model import StreamFacts

LONG_GOP_S = 5.0  # above this a check that stops at its first keyframe (a live picture beyond doubt) says so
READ_MARGIN_S = 3.0  # the open and a stalled read (probe.rtsp.READ_TIMEOUT_S = 2.5) with room


@dataclass(frozen=True)
class StreamProfile:
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    gop_s: float | None = None  # None: not seen two keyframes yet; 0: intra-only (MJPEG)
    transport: str | None = None  # what worked last ("tcp", "udp", "http")
    first_keyframe_s: float | None = None  # typical time to the first decoded keyframe (EMA)
    samples: int = 0

    def to_json(self) -> dict[str, Any]:
        """Figures to 4 significant digits: a learned 2 s GOP is 2, not 1.9999999999999996."""
        return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> StreamProfile | None:
        if not d:
            return None
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__ if k in d})

    @property
    def long_gop(self) -> bool:
        return self.gop_s is not None and self.gop_s > LONG_GOP_S

    def describe(self) -> str:
        """The facts an operator reads: "h264 640×360, 10 fps, keyframe every 12 s, over udp"."""
        parts = [f"{self.codec or '?'} {self.width}×{self.height}" if self.width else (self.codec or "?")]
        if self.fps:
            parts.append(f"{self.fps:.3g} fps")
        if self.gop_s == 0:
            parts.append("every frame a keyframe")
        elif self.gop_s:
            parts.append(f"keyframe every {self.gop_s:.3g} s")
        if self.transport:
            parts.append(f"over {self.transport}")
        return ", ".join(parts)


def budget(settings: CheckSettings, profile: StreamProfile | None) -> CheckSettings:
    """The settings of the next check: its deadline follows the learned GOP within [deadline_s, max_deadline_s],
    room for `keyframes` of them (a check stops at its first when it shows a live picture beyond doubt: on a
    long GOP the second comes only when freezing is in doubt, or while the camera is learned); `auto` transport
    starts with what worked last time.

    Without a profile (a camera never seen healthy) the check may take up to `max_deadline_s`: it ends as soon
    as it has its keyframes, so only a long-GOP camera uses it."""
    if profile is None or profile.gop_s is None:
        return settings.model_copy(update={"deadline_s": max(settings.deadline_s, settings.max_deadline_s)})
    keyframes = settings.keyframes
    gop = profile.gop_s or 0.0
    need = (profile.first_keyframe_s or 0.5) + gop * max(1, keyframes) + READ_MARGIN_S
    deadline = min(max(settings.deadline_s, need), max(settings.deadline_s, settings.max_deadline_s))
    update: dict[str, Any] = {"deadline_s": deadline, "keyframes": keyframes}
    if settings.transport == "auto" and profile.transport:
        update["transport_first"] = profile.transport
    return settings.model_copy(update=update)


def learn(profile: StreamProfile | None, facts: StreamFacts, alpha: float = 0.3) -> StreamProfile:
    """A healthy check's stream facts folded into the profile (what it does not measure is kept)."""
    p = profile or StreamProfile()
    ttff = facts.time_to_first_frame_s
    first = ttff if p.first_keyframe_s is None or ttff is None else (1 - alpha) * p.first_keyframe_s + alpha * ttff
    gop = 0.0 if facts.intra_only else (facts.gop_s if facts.gop_s is not None else p.gop_s)
    return replace(p, codec=facts.codec or p.codec, width=facts.width or p.width, height=facts.height or p.height,
                   fps=facts.fps or p.fps, gop_s=gop, transport=facts.transport or p.transport,
                   first_keyframe_s=first, samples=p.samples + 1)
