"""Frozen: within one check (two keyframes seconds apart) and across checks (minutes apart).

Within a check, two keyframes of a live camera differ by the sensor's noise everywhere, in the quietest
blocks of the picture too (the quietest tenth of them: passing traffic and the OSD clock are in the others),
and that noise is steady for a camera in one mode; a frozen source's differ by the codec's re-quantisation
only, which leaves many blocks exactly as they were (x264, x265 on a static picture). Learned per camera and
mode, that noise judges a freeze however busy the encoder keeps (CBR fills its P-frames), and a check that
shows it is live, however little its picture changed since the last check.

Across checks, a live roadside scene changes (traffic, light, the OSD clock, sensor noise) and a frozen
source stays identical up to the codec's re-quantisation. The measure: the mean absolute difference of
two thumbnails after a light blur, per block, leaving out the most-changed blocks (a ticking OSD clock, a
passing car on a hung sensor's picture cannot hide a freeze) — judged against this camera's own learned
change between healthy checks. P-frame sizes are supporting evidence only: many encoders (CBR padding,
CRF refining a noisy picture) never go idle on a frozen picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from camwatch.analysis.baseline import Baseline, ModeBaseline
from camwatch.analysis.frame import TEX_GRID, blocks, chroma_of, mode_of, small_ycc, thumbnail
from camwatch.config.settings import Thresholds
from camwatch.model import Finding, Verdict

QUIET_SHARE = 0.1  # within a check, the noise is the difference of the quietest tenth of the 16×9 blocks


def within(a: np.ndarray, b: np.ndarray, pmed: float | None, keyframe_sizes: Sequence[int],
           base: ModeBaseline, th: Thresholds, live: bool = False) -> tuple[Finding | None, dict[str, float]]:
    """Two keyframes of one check (their grey pictures), seconds apart: still blocks and an idle encoder, or
    far less difference in their quietest blocks than this camera's two keyframes have (its noise): frozen,
    they differ by the codec's re-quantisation only, however busy the encoder keeps (CBR). `live`: the
    picture changed since the last check beyond doubt."""
    diff = np.abs(a.astype(np.float32) - b.astype(np.float32))
    block = blocks(diff).mean(axis=(2, 3))
    still = float(np.mean(block < th.frozen_block_diff))
    noise = float(np.quantile(blocks(diff, TEX_GRID).mean(axis=(2, 3)), QUIET_SHARE))
    nums = {"mean_diff": float(diff.mean()), "still_ratio": still, "within": noise}
    if pmed is not None and keyframe_sizes:
        kmed = float(np.median(keyframe_sizes))
        p_ratio = pmed / kmed if kmed else 0.0
        nums.update(pframe_ratio=p_ratio, pframe_median_bytes=pmed)
        encoder_idle = p_ratio <= th.frozen_pframe_ratio
        if base.samples >= th.baseline_samples and base.pframe_median > 0:
            nums["pframe_vs_baseline"] = pmed / base.pframe_median
            encoder_idle = encoder_idle and pmed <= th.frozen_vs_baseline * base.pframe_median
        frozen = encoder_idle and still >= th.frozen_still_ratio
    else:  # no P-frames to go by (an all-intra stream): the picture alone, strictly
        frozen = still >= 0.95 and nums["mean_diff"] < th.frozen_block_diff / 2
    if frozen:
        return Finding(Verdict.FROZEN, "the picture does not change: the image is frozen", nums), nums
    learned = base.within_samples >= th.frozen_change_samples and base.within >= th.frozen_within_min
    if not learned:
        return None, nums
    nums.update(within_typical=base.within, within_limit=th.frozen_within_ratio * base.within,
                within_ratio=noise / base.within)
    if live or noise > nums["within_limit"]:
        return None, nums
    return Finding(Verdict.FROZEN, f"the picture does not change: two pictures seconds apart differ by {noise:.2f} grey "
                                   f"levels against {base.within:.2f} normally (no sensor noise): the image is frozen",
                   nums), nums


def change(a: np.ndarray, b: np.ndarray, th: Thresholds) -> float | None:
    """How much two thumbnails differ (grey levels), robust to re-quantisation and to a few changing blocks."""
    if a.shape != b.shape:
        return None
    fa = cv2.GaussianBlur(a.astype(np.float32), (3, 3), 0)
    fb = cv2.GaussianBlur(b.astype(np.float32), (3, 3), 0)
    per = np.sort(blocks(np.abs(fa - fb), TEX_GRID).mean(axis=(2, 3)).ravel())
    keep = per[: max(1, round(per.size * (1 - th.frozen_ignore_share)))]
    return float(keep.mean())


def limit(base: ModeBaseline, pmed: float | None, th: Thresholds) -> float:
    """The change (grey levels) at or below which this camera's picture is frozen since the last check."""
    # below the camera's normal change by more than its own spread allows, and at most `ratio` of it
    ratio = min(th.frozen_change_ratio, math.exp(-th.frozen_change_spread * base.change_dev))
    line = min(th.frozen_change_max, max(th.frozen_change_floor, base.change * ratio))
    if pmed is not None and base.pframe_median > 0 and pmed <= th.frozen_vs_baseline * base.pframe_median:
        line = min(th.frozen_change_max, line * 1.3)  # supporting evidence: the encoder also says nothing moves
    return line


def across(chg: float, base: ModeBaseline, pmed: float | None, th: Thresholds,
           minutes: float | None) -> tuple[Finding | None, dict[str, float]]:
    """This check's picture against the last check's: frozen when it changed far less than this camera's does."""
    nums: dict[str, float] = {"change": chg}
    since = f" over {minutes:.0f} min" if minutes and minutes >= 1 else ""
    if base.change_samples < th.frozen_change_samples:
        # how much this camera's picture changes is not known yet (a new camera, a mode never seen healthy): only
        # a picture that did not change at all is frozen — the floor every learned limit keeps too
        if chg > th.frozen_change_floor:
            return None, nums
        return Finding(Verdict.FROZEN, f"the picture has not changed at all since the last check{since} "
                                       f"({chg:.2f} grey levels): the image is frozen", nums), nums
    typical, line = base.change, limit(base, pmed, th)
    nums.update(change_typical=typical, change_limit=line, change_ratio=chg / typical if typical else 0.0)
    if chg > line:
        return None, nums
    return Finding(Verdict.FROZEN, f"the picture has not changed since the last check{since} "
                                   f"({chg:.2f} grey levels against {typical:.2f} normally): the image is frozen",
                   nums), nums


def settled(keyframe: np.ndarray, pframe_sizes: Sequence[int], baseline: Baseline, th: Thresholds) -> bool:
    """Is one keyframe enough for this check? Only when it shows a live picture beyond doubt: it changed since
    the last check's by more than `frozen_second_look` × this camera's frozen limit, and the encoder is not idle.
    Otherwise the check reads its next keyframe too (the comparison within the check, a second re-quantisation).
    (A check that finds another fault is judged on this one keyframe anyway: the others need no second.)"""
    if baseline.last is None:
        return False
    ycc = small_ycc(keyframe)
    mode = mode_of(chroma_of(ycc), th)
    base = baseline.mode(mode)
    if mode != baseline.last_mode or base.change_samples < th.frozen_change_samples:
        return False
    chg = change(baseline.last, thumbnail(np.ascontiguousarray(ycc[..., 0])), th)
    pmed = float(np.median(pframe_sizes)) if pframe_sizes else None
    return chg is not None and chg > th.frozen_second_look * limit(base, pmed, th)
