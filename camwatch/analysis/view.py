"""Is the view still the camera's view? Covered (whole or in part) and moved, against the baseline reference.

Partly covered: blocks that had texture in this camera's reference and have lost it now (an object on the
lens is out of focus: a leaf, a sign, a sticker, a spider web). What is not covered must still match the
reference *in place* (per-block correlation): that is what tells a covered lens from a moved camera, and a
camera is `moved` only when the part that matches has really moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.analysis.frame import TEX_GRID, FrameStats, blocks, texture
from camwatch.config.settings import Thresholds
from camwatch.model import Finding, Verdict


@dataclass(frozen=True)
class Match:
    """The current picture against the reference, block by block."""

    textured: int  # reference blocks with texture
    lost: int  # … of which lost their texture now
    in_place: float  # median correlation with the reference of the textured blocks not lost (1: in place)
    # the picture's texture now against the reference's, in all: a cover takes most of it away, a turned view
    # shows as much as before (elsewhere); new texture where the reference was flat tells neither (an occluder
    # in focus has some)
    kept: float = 0.0

    @property
    def share(self) -> float:
        return self.lost / self.textured if self.textured else 0.0


def match(reference: np.ndarray, cur: FrameStats, th: Thresholds) -> Match | None:
    if cur.texture is None or reference.shape != cur.grey.shape:
        return None
    ref = cv2.GaussianBlur(reference.astype(np.float32), (5, 5), 0)
    now = cv2.GaussianBlur(cur.grey.astype(np.float32), (5, 5), 0)
    ref_tex = texture(ref)
    textured = ref_tex >= th.cover_textured_std
    lost = textured & (cur.texture < th.cover_lost_ratio * ref_tex)
    a, b = blocks(ref, TEX_GRID), blocks(now, TEX_GRID)
    a = a - a.mean(axis=(2, 3), keepdims=True)
    b = b - b.mean(axis=(2, 3), keepdims=True)
    ncc = (a * b).sum(axis=(2, 3)) / np.sqrt((a * a).sum(axis=(2, 3)) * (b * b).sum(axis=(2, 3)) + 1e-6)
    keep = textured & ~lost
    in_place = float(np.median(ncc[keep])) if keep.any() else 0.0
    kept = float(cur.texture.sum() / max(1e-6, float(ref_tex.sum())))
    return Match(int(textured.sum()), int(lost.sum()), in_place, kept)


def covered(cur: FrameStats, m: Match | None, th: Thresholds,
            full_only: bool = False) -> tuple[Finding | None, dict[str, float]]:
    """`full_only`: `m` is against the other mode's reference (this mode not learned yet)."""
    nums: dict[str, float] = {"flat_ratio": cur.flat_ratio}
    if m is not None:
        nums.update(covered_share=m.share, in_place=m.in_place)
    if cur.flat_ratio >= th.covered_ratio:
        return Finding(Verdict.COVERED, f"almost no detail left in the picture ({cur.flat_ratio:.0%} of it flat)",
                       {**nums, "spread": cur.spread}), nums
    if m is None or m.textured < th.cover_min_blocks or m.share < th.cover_partial_share:
        return None, nums
    nums["texture_kept"] = m.kept
    # against the other mode's view (IR and colour pictures of one scene differ block by block, not in their
    # texture in all) a cover loses fewer of its blocks: the texture left in all is what tells
    full = th.cover_partial_max if full_only else th.cover_full_share
    if m.share >= full and m.kept <= th.cover_kept_max:
        return Finding(Verdict.COVERED, f"the lens is covered: {m.share:.0%} of the view has lost its detail",
                       nums), nums
    if m.in_place < th.cover_in_place or m.share > th.cover_partial_max:
        # what is left does not match the reference where it was: a new view (moved, its own texture), or an
        # occluder with a texture of its own over most of it, out of focus (far less texture left in all)
        if m.share >= th.cover_occluder_share and m.kept <= th.cover_kept_max:
            return Finding(Verdict.COVERED, f"the lens is covered: {m.share:.0%} of the view has lost its detail, "
                                            "and what is left is not the camera's view", nums), nums
        return None, nums
    if m.kept > th.cover_partial_kept_max:
        return None, nums  # the detail is all there, elsewhere: a turned view (its own texture), not a cover
    return Finding(Verdict.COVERED, f"the lens is partly covered: {m.share:.0%} of the view has lost its detail "
                                    "(the rest is still the camera's view)", {**nums, "partial_share": m.share}), nums


def moved(reference: np.ndarray, grey: np.ndarray, m: Match | None, th: Thresholds,
          geometry_only: bool = False) -> tuple[Finding | None, dict[str, float]]:
    """ORB features against the reference — only when the blocks no longer line up with it in place (the cheap
    test, on every check: a feature match costs more than the rest of the analysis). `geometry_only`: moved only
    when the reference's features are found shifted or turned (a poor match tells nothing: the reference is the
    other mode's view)."""
    nums: dict[str, float] = {}
    if m is not None:
        nums["in_place"] = m.in_place
        if m.in_place >= th.moved_in_place and m.share < 0.5:
            return None, nums  # the view is where it was, block by block: not moved (ORB lost in noise or a cover)
    orb = cv2.ORB_create(500)
    ka, da = orb.detectAndCompute(reference, None)
    kb, db = orb.detectAndCompute(grey, None)
    nums.update(keypoints_ref=len(ka), keypoints_now=len(kb))
    if da is None or db is None or len(ka) < th.moved_min_keypoints or len(kb) < th.moved_min_keypoints:
        return None, nums  # too little detail to tell (blur, cover, darkness are judged elsewhere)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    inliers = 0
    shift = rot = 0.0
    if len(matches) >= 8:
        pa = np.float32([ka[x.queryIdx].pt for x in matches])
        pb = np.float32([kb[x.trainIdx].pt for x in matches])
        t, mask = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=3.0)
        if t is not None and mask is not None:
            inliers = int(mask.sum())
            rot = float(np.degrees(np.arctan2(t[1, 0], t[0, 0])))
            shift = float(np.hypot(t[0, 2], t[1, 2])) / reference.shape[1]
    match_ratio = inliers / len(ka)
    nums.update(inliers=inliers, match_ratio=match_ratio, shift_ratio=shift, rotation_deg=rot)
    if inliers >= th.moved_min_inliers and (shift > th.moved_shift or abs(rot) > th.moved_rotation_deg):
        reason = f"the camera has moved: the view is shifted by {shift:.0%} of its width and turned {rot:+.0f}°"
    elif not geometry_only and (match_ratio < th.moved_min_match_ratio
                                or (m is not None and m.in_place < th.moved_not_in_place)):
        reason = (f"the camera looks at another view: only {match_ratio:.0%} of its reference view is found"
                  + (f", and it no longer lines up with it ({m.in_place:.2f})" if m is not None else ""))
    else:
        return None, nums
    return Finding(Verdict.MOVED, reason, nums), nums
