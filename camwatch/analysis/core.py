"""Judge a picture: keyframes (+ packet sizes), this camera's baseline and its last picture in, findings out.

Pure functions: no I/O, no clock (the check's time is a parameter); the thresholds are the validated
settings (`config.settings.Thresholds`). All work is done on downscaled grey frames (320 px wide).
Every finding carries the numbers behind it. Thresholds on sharpness, motion, change and view are ratios
to this camera's own baseline, kept apart for day and night (IR) because IR switching is the classic
false alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from camwatch.analysis import frozen, view
from camwatch.analysis.baseline import Baseline, ModeBaseline
from camwatch.analysis.frame import FrameStats, frame_stats, grey_of, mode_of, thumbnail
from camwatch.config.settings import Thresholds
from camwatch.model import Finding, Verdict

DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Analysis:
    findings: list[Finding]
    mode: str  # "day" or "night"
    numbers: dict[str, float]  # the key figures of this check, for history and metrics
    frame: FrameStats | None = None
    pframe_median: float | None = None
    # the picture judged against the last check's and kept for the next: the check's *first* keyframe, however
    # many it reads (a check that reads a second one only when the first left freezing in doubt must not then
    # judge that second one: the quieter of two is no measure of this camera's change)
    thumb: np.ndarray | None = None


def analyse(keyframes: Sequence[np.ndarray], pframe_sizes: Sequence[int], keyframe_sizes: Sequence[int],
            baseline: Baseline | None, th: Thresholds = DEFAULT_THRESHOLDS, at: float | None = None) -> Analysis:
    """All findings for one check; the caller picks the verdict with `model.worst`. `at`: the check's time
    (POSIX seconds), to say how long ago the last picture was taken."""
    if not keyframes:
        return Analysis([], "day", {})
    cur = frame_stats(keyframes[-1], th)  # the earlier keyframes are only compared with it
    mode = mode_of(cur.chroma, th)
    baseline = baseline or Baseline()
    base = baseline.mode(mode)
    pmed = float(np.median(pframe_sizes)) if pframe_sizes else None
    numbers: dict[str, float] = {
        "luma": cur.luma, "black_ratio": cur.black_ratio, "spread": cur.spread, "flat_ratio": cur.flat_ratio,
        "edge_density": cur.edge_density, "noise": cur.noise, "chroma": cur.chroma,
    }
    if pmed is not None:
        numbers["pframe_median_bytes"] = pmed
    findings: list[Finding] = []
    dark = _black_or_dark(cur, base, th)
    if dark is not None:
        findings.append(dark)

    first = grey_of(keyframes[0]) if len(keyframes) >= 2 else cur.grey
    thumb = thumbnail(first)
    across, live = None, False
    if baseline.last is not None and baseline.last_mode == mode:
        chg = frozen.change(baseline.last, thumb, th)
        if chg is not None:
            minutes = (at - baseline.last_at) / 60 if at is not None and baseline.last_at else None
            across, nums = frozen.across(chg, base, pmed, th, minutes)
            numbers.update({k: v for k, v in nums.items() if k in ("change", "change_ratio")})
            live = "change_limit" in nums and chg > th.frozen_second_look * nums["change_limit"]
    if len(keyframes) >= 2:
        f, nums = frozen.within(first, cur.grey, pmed, keyframe_sizes, base, th, live)
        numbers["motion"] = nums["mean_diff"]
        numbers.update({k: v for k, v in nums.items() if k in ("still_ratio", "within", "within_ratio")})
        if f is not None:
            findings.append(f)
    # two keyframes that differ by this camera's sensor noise (a live sensor) overrule a change since the last
    # check quieter than it used to be (noon: the light stopped changing), unless it did not change at all
    alive = (across is not None and numbers.get("within_ratio", 0.0) >= th.frozen_within_live
             and across.numbers["change"] > th.frozen_change_floor)
    if across is not None and not alive:  # within and across both kept: a fault found below may explain one
        findings.append(across)
    if dark is not None:  # too dark to judge cover, sharpness or aim
        return Analysis(_one_frozen(_explained(findings, th)), mode, numbers, cur, pmed, thumb)

    ready = base.samples >= th.baseline_samples and base.reference is not None
    reference = base.reference if ready else None
    m = view.match(reference, cur, th) if reference is not None else None
    other = baseline.mode("day" if mode == "night" else "night")
    if m is None and other.samples >= th.baseline_samples and other.reference is not None:
        # a mode not learned yet: a grey cover takes the colour away too, so compare with the other mode's view
        m = view.match(other.reference, cur, th)
        reference = other.reference if m is not None else None
    f, nums = view.covered(cur, m, th, full_only=not ready)
    numbers.update({k: v for k, v in nums.items() if k in ("covered_share", "in_place")})
    if f is not None:
        findings = _explained(findings, th, f.numbers.get("partial_share", 1.0))
        findings.append(f)
    if base.samples >= th.baseline_samples and base.edge_density > 0:
        blur, nums = _blurred(cur, base, th)
        numbers.update({k: v for k, v in nums.items() if k in ("sharpness_ratio", "gradient_ratio")})
        if blur is not None:
            findings = _explained(findings, th)  # a blurred picture changes less between checks too
            findings.append(blur)
    if reference is not None and f is None:
        # against the other mode's view (a mode not learned yet: a grey scene whose passing traffic flips the
        # mode, a camera turned at dusk) only its geometry tells: IR and colour pictures match poorly anyway,
        # and a moved view learnt as the new mode's reference would be the camera's view from then on
        moved, nums = view.moved(reference, cur.grey, m, th, geometry_only=not ready)
        numbers.update({k: v for k, v in nums.items() if k in ("shift_ratio", "rotation_deg", "match_ratio")})
        if moved is not None:
            findings = _explained(findings, th)  # a new view: how much the old one changed tells nothing
            findings.append(moved)
    return Analysis(_one_frozen(findings), mode, numbers, cur, pmed, thumb)


def _one_frozen(findings: list[Finding]) -> list[Finding]:
    """The first frozen finding only (within the check before across checks): one fault, one reason."""
    first = next((x for x in findings if x.kind is Verdict.FROZEN), None)
    return [x for x in findings if x.kind is not Verdict.FROZEN or x is first]


def _blurred(cur: FrameStats, base: ModeBaseline, th: Thresholds) -> tuple[Finding | None, dict[str, float]]:
    """Blurred, with the numbers either way: far fewer edges than this camera's picture has
    (`blur_ratio`), or, in the same light, fewer edges and much weaker gradients — a mild defocus (a 3-px blur
    at 640 px leaves 60-75 % of the edges; the light falling at dusk weakens the gradients too, and is told by
    the luma)."""
    ratio = cur.edge_density / base.edge_density
    grad = cur.tenengrad / base.tenengrad if base.tenengrad > 0 else 1.0
    light = cur.luma / base.luma if base.luma > 0 else 0.0
    nums = {"sharpness_ratio": ratio, "gradient_ratio": grad, "edge_density": cur.edge_density,
            "baseline_edge_density": base.edge_density}
    if ratio < th.blur_ratio:
        reason = f"the picture is blurred: {ratio:.0%} of this camera's normal sharpness"
    elif ratio < th.blur_mild_ratio and grad < th.blur_gradient_ratio and abs(light - 1.0) <= th.blur_same_light:
        reason = (f"the picture is blurred: {ratio:.0%} of this camera's normal sharpness and {grad:.0%} of its "
                  "detail, in the same light")
    else:
        return None, nums
    return Finding(Verdict.BLURRED, reason, nums), nums


def _explained(findings: list[Finding], th: Thresholds, share: float = 1.0) -> list[Finding]:
    """A cover, darkness, a blur or a move also explains a picture that changes less than it used to (across
    checks, and within one: a flat cover or a blur leaves the encoder less noise to keep): no frozen verdict
    then, unless it did not change at all. A cover of part of the view (`share`) explains only its part: the
    rest still changes as it did, so a picture that changed less than that is frozen still."""
    def stays(x: Finding) -> bool:
        change = x.numbers.get("change", x.numbers.get("within", 0.0))  # since the last check, or within this one
        if x.kind is not Verdict.FROZEN or change <= th.frozen_change_floor:
            return True
        limit = x.numbers.get("change_limit", x.numbers.get("within_limit"))
        return share < 1.0 and limit is not None and change / (1.0 - share) <= limit
    return [x for x in findings if stays(x)]


def _black_or_dark(cur: FrameStats, base: ModeBaseline, th: Thresholds) -> Finding | None:
    """Black: no picture (a dead sensor, video loss: flat, no noise). Dark: a live picture, far too dark (the
    IR illuminator or the light failed): the sensor's noise or lamps are there."""
    nums = {"black_ratio": cur.black_ratio, "spread": cur.spread, "luma": cur.luma, "noise": cur.noise}
    if cur.black_ratio >= th.black_ratio and cur.spread <= th.black_spread and cur.noise < th.dark_noise:
        return Finding(Verdict.BLACK, f"the picture is black ({cur.black_ratio:.0%} of pixels black)", nums)
    too_dark = cur.black_ratio >= th.dark_black_ratio and cur.luma <= th.dark_luma
    learned = base.samples >= th.baseline_samples and base.luma > 0
    if learned:
        nums["luma_vs_baseline"] = cur.luma / base.luma
        too_dark = (too_dark and base.luma > th.dark_luma) or (
            cur.luma < th.dark_vs_baseline * base.luma and cur.black_ratio >= th.dark_black_ratio - 0.1)
    if not too_dark:
        return None
    if learned:
        return Finding(Verdict.DARK, f"the picture is far too dark: {cur.luma:.0f} grey levels against "
                                     f"{base.luma:.0f} normally (check the infrared lights or the light)", nums)
    return Finding(Verdict.DARK, f"the picture is far too dark ({cur.black_ratio:.0%} of pixels black, but the "
                                 "sensor is live): check the infrared lights or the light", nums)
