"""Each camera's baseline: what it looks like when healthy, per mode (day, night), and its last picture.

The last picture (a 160-px grey thumbnail, with its time and mode) is kept after *every* check, healthy or
not: the next check compares with it to tell a frozen source from a live scene across minutes. The rest is
learned from healthy checks only, including how much this camera's picture normally changes from one check
to the next.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from camwatch.analysis.core import Analysis
    from camwatch.config.settings import Thresholds

ENVELOPE_STEP = math.log(0.9)  # the low envelope of the change falls by at most 10 % a check
ENVELOPE_LEARNING = 3  # as many as `frozen_change_samples` (its default): before freezing is judged at all
SHARPNESS_FALL = 0.97  # the learned sharpness falls by at most 3 % a check (a mild blur judged healthy is not learnt)
WITHIN_FALL = 0.9  # the learned difference within a check falls by at most 10 % a check
_STATS = ("samples", "edge_density", "tenengrad", "pframe_median", "luma", "change_log", "change_dev",
          "change_samples", "within", "within_samples")


@dataclass(frozen=True)
class ModeBaseline:
    """What this camera looks like when healthy, in one mode (day or night)."""

    samples: int = 0
    edge_density: float = 0.0
    tenengrad: float = 0.0
    pframe_median: float = 0.0
    luma: float = 0.0
    change_log: float = 0.0  # ln of the low envelope of the change between consecutive healthy checks (grey levels)
    change_dev: float = 0.0  # mean |ln change - change_log|: how far above it the change usually is
    change_samples: int = 0
    within: float = 0.0  # how much the two keyframes of one check differ (grey levels, the median block): the noise
    within_samples: int = 0
    reference: np.ndarray | None = field(default=None, compare=False)  # grey WIDTH-wide view

    @property
    def change(self) -> float:
        """How little this camera's live picture changes between two checks (its low envelope, grey levels)."""
        return math.exp(self.change_log) if self.change_samples else 0.0


@dataclass(frozen=True)
class Baseline:
    day: ModeBaseline = ModeBaseline()
    night: ModeBaseline = ModeBaseline()
    last: np.ndarray | None = field(default=None, compare=False)  # the last check's thumbnail (grey)
    last_mode: str = ""
    last_at: float = 0.0  # POSIX seconds

    def mode(self, name: str) -> ModeBaseline:
        return self.night if name == "night" else self.day

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        for name in ("day", "night"):
            mb = self.mode(name)
            arrays[f"{name}_stats"] = np.array([float(getattr(mb, k)) for k in _STATS], np.float64)
            if mb.reference is not None:
                arrays[f"{name}_reference"] = mb.reference
        if self.last is not None:
            arrays["last"] = self.last
            arrays["last_meta"] = np.array([self.last_at, 1.0 if self.last_mode == "night" else 0.0])
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # stored every check: noisy grey pictures hardly compress, and deflate costs ms
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Baseline:
        """Also reads the older layout (five statistics, no last picture)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            modes = {}
            for name in ("day", "night"):
                s = z[f"{name}_stats"]
                ref = z[f"{name}_reference"] if f"{name}_reference" in z.files else None
                vals = {k: (int(s[i]) if k.endswith("samples") else float(s[i]))
                        for i, k in enumerate(_STATS) if i < len(s)}
                modes[name] = ModeBaseline(**vals, reference=ref)  # type: ignore[arg-type]
            last = z["last"] if "last" in z.files else None
            meta = z["last_meta"] if "last_meta" in z.files else np.zeros(2)
        return cls(**modes, last=last, last_mode=("night" if meta[1] else "day") if last is not None else "",
                   last_at=float(meta[0]))


def judged_across(baseline: Baseline | None, at: float, max_age_s: float, th: Thresholds) -> bool:
    """Can the next picture be judged for freezing against the last check's (so one keyframe is enough)? Its
    last picture is under `max_age_s` old and this camera's change between checks is learned in its mode."""
    if baseline is None or baseline.last is None or not baseline.last_at or at - baseline.last_at > max_age_s:
        return False
    return baseline.mode(baseline.last_mode).change_samples >= th.frozen_change_samples


def remember(baseline: Baseline | None, analysis: Analysis, at: float) -> Baseline:
    """The baseline with this check's picture kept for the next check (after every check, healthy or not)."""
    baseline = baseline or Baseline()
    if analysis.thumb is None:
        return baseline
    return replace(baseline, last=analysis.thumb, last_mode=analysis.mode, last_at=at)


def update_baseline(baseline: Baseline | None, analysis: Analysis, alpha: float = 0.2) -> Baseline:
    """Learn from a healthy check (call only when it had no finding); returns the new baseline."""
    baseline = baseline or Baseline()
    if analysis.frame is None:
        return baseline
    cur = analysis.frame
    old = baseline.mode(analysis.mode)

    def ema(prev: float, new: float | None) -> float:
        if new is None:
            return prev
        return new if old.samples == 0 or prev == 0 else (1 - alpha) * prev + alpha * new

    change_log, change_dev, change_n = old.change_log, old.change_dev, old.change_samples
    change = analysis.numbers.get("change")
    if change is not None:
        x = math.log(max(change, 0.02))
        if change_n == 0:
            change_log, change_dev = x, 0.15
        else:  # the low envelope: a quiet moment (no traffic, steady light) is what a frozen picture must beat
            change_dev = (1 - alpha) * change_dev + alpha * abs(x - change_log)
            # down by at most ENVELOPE_STEP a check: a frozen picture just above the limit is judged healthy, and
            # learnt at once it would lower the limit for the next frozen check, and so on (the freeze is learnt);
            # while still learning (the first ENVELOPE_LEARNING changes) it is the lowest change seen
            step = x - change_log if change_n < ENVELOPE_LEARNING else max(x - change_log, ENVELOPE_STEP)
            change_log += step if x < change_log else 0.05 * (x - change_log)
        change_n += 1
    within, within_n = old.within, old.within_samples
    diff = analysis.numbers.get("within")
    if diff is not None:  # a live sensor's noise: a frozen check judged healthy just above the line is not learnt
        within = diff if within_n == 0 else max((1 - alpha) * within + alpha * diff, WITHIN_FALL * within)
        within_n += 1
    new = ModeBaseline(
        samples=old.samples + 1,
        # down by at most SHARPNESS_FALL a check: a blur just above `blur_ratio`, judged healthy and learnt at the
        # moving average's pace, became the normal within a few checks (bench/README.md, detection)
        edge_density=max(ema(old.edge_density, cur.edge_density), SHARPNESS_FALL * old.edge_density),
        tenengrad=max(ema(old.tenengrad, cur.tenengrad), SHARPNESS_FALL * old.tenengrad),
        pframe_median=ema(old.pframe_median, analysis.pframe_median),
        luma=ema(old.luma, cur.luma),
        change_log=change_log, change_dev=change_dev, change_samples=change_n, within=within,
        within_samples=within_n,
        reference=old.reference if old.reference is not None else cur.grey,
    )
    return replace(baseline, **{analysis.mode: new})
