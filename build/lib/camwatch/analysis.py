"""Judge a picture: keyframes (+ packet sizes) and this camera's baseline in, findings out.

Pure functions: no I/O, no clock; the thresholds are the validated settings (`config.settings.Thresholds`).
All work is done on downscaled grey frames (320 px wide: the
literature finds no gain above that). Every finding carries the numbers behind it. Thresholds on
sharpness, motion and view are ratios to this camera's own baseline, kept apart for day and night
(IR) because IR switching is the classic false alarm.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from camwatch.config.settings import Thresholds
from camwatch.model import Finding, Verdict

DEFAULT_THRESHOLDS = Thresholds()
WIDTH = 320
GRID = (8, 6)  # blocks across, down
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class ModeBaseline:
    """What this camera looks like when healthy, in one mode (day or night)."""

    samples: int = 0
    edge_density: float = 0.0
    tenengrad: float = 0.0
    pframe_median: float = 0.0
    luma: float = 0.0
    reference: np.ndarray | None = field(default=None, compare=False)  # grey WIDTH-wide view


@dataclass(frozen=True)
class Baseline:
    day: ModeBaseline = ModeBaseline()
    night: ModeBaseline = ModeBaseline()

    def mode(self, name: str) -> ModeBaseline:
        return self.night if name == "night" else self.day

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        for name in ("day", "night"):
            mb = self.mode(name)
            arrays[f"{name}_stats"] = np.array(
                [mb.samples, mb.edge_density, mb.tenengrad, mb.pframe_median, mb.luma], np.float64)
            if mb.reference is not None:
                arrays[f"{name}_reference"] = mb.reference
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Baseline:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            modes = {}
            for name in ("day", "night"):
                s = z[f"{name}_stats"]
                ref = z[f"{name}_reference"] if f"{name}_reference" in z.files else None
                modes[name] = ModeBaseline(int(s[0]), float(s[1]), float(s[2]), float(s[3]), float(s[4]), ref)
        return cls(**modes)


@dataclass(frozen=True)
class FrameStats:
    grey: np.ndarray
    luma: float
    black_ratio: float
    spread: float
    chroma: float
    flat_ratio: float
    edge_density: float
    tenengrad: float
    noise: float


@dataclass(frozen=True)
class Analysis:
    findings: list[Finding]
    mode: str  # "day" or "night"
    numbers: dict[str, float]  # the key figures of this check, for history and metrics
    frame: FrameStats | None = None
    pframe_median: float | None = None


def frame_stats(img: np.ndarray, th: Thresholds) -> FrameStats:
    h, w = img.shape[:2]
    small = cv2.resize(img, (WIDTH, max(2, round(h * WIDTH / w))), interpolation=cv2.INTER_AREA)
    ycc = cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb)
    grey = np.ascontiguousarray(ycc[..., 0])
    chroma = float(np.mean(np.abs(ycc[..., 1:].astype(np.int16) - 128)) * 2)
    g = grey.astype(np.float32)
    p2, p98 = np.percentile(g, (2, 98))
    smooth = cv2.GaussianBlur(g, (5, 5), 0)
    flat = float(np.mean(_blocks(smooth).std(axis=(2, 3)) < th.covered_block_std))
    eq = cv2.equalizeHist(cv2.GaussianBlur(grey, (3, 3), 0))
    edges = float(np.count_nonzero(cv2.Canny(eq, 100, 200))) / grey.size
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    noise = float(np.sum(np.abs(cv2.filter2D(g, -1, _IMMERKAER)[1:-1, 1:-1])) * np.sqrt(0.5 * np.pi)
                  / (6 * (g.shape[0] - 2) * (g.shape[1] - 2)))
    return FrameStats(
        grey=grey, luma=float(g.mean()), black_ratio=float(np.mean(grey <= th.black_level)),
        spread=float(p98 - p2), chroma=chroma, flat_ratio=flat, edge_density=edges,
        tenengrad=float(np.mean(gx * gx + gy * gy)), noise=noise,
    )


def _blocks(a: np.ndarray) -> np.ndarray:
    gx, gy = GRID
    h, w = a.shape
    bh, bw = h // gy, w // gx
    return a[: bh * gy, : bw * gx].reshape(gy, bh, gx, bw).swapaxes(1, 2)


def analyse(keyframes: Sequence[np.ndarray], pframe_sizes: Sequence[int], keyframe_sizes: Sequence[int],
            baseline: Baseline | None, th: Thresholds = DEFAULT_THRESHOLDS) -> Analysis:
    """All findings for one check; the caller picks the verdict with `model.worst`."""
    if not keyframes:
        return Analysis([], "day", {})
    stats = [frame_stats(k, th) for k in keyframes]
    cur = stats[-1]
    mode = "night" if cur.chroma < th.night_chroma else "day"
    base = (baseline or Baseline()).mode(mode)
    pmed = float(np.median(pframe_sizes)) if pframe_sizes else None
    numbers: dict[str, float] = {
        "luma": cur.luma, "black_ratio": cur.black_ratio, "spread": cur.spread, "flat_ratio": cur.flat_ratio,
        "edge_density": cur.edge_density, "noise": cur.noise, "chroma": cur.chroma,
    }
    if pmed is not None:
        numbers["pframe_median_bytes"] = pmed
    findings: list[Finding] = []

    if cur.black_ratio >= th.black_ratio and cur.spread <= th.black_spread:
        findings.append(Finding(Verdict.BLACK, f"the picture is black ({cur.black_ratio:.0%} of pixels black)",
                                {"black_ratio": cur.black_ratio, "spread": cur.spread, "luma": cur.luma}))

    if len(stats) >= 2:
        f = _frozen(stats[0], stats[-1], pmed, keyframe_sizes, base, th)
        numbers["motion"] = f[1]["mean_diff"]
        numbers["still_ratio"] = f[1]["still_ratio"]
        if f[0] is not None:
            findings.append(f[0])

    if cur.flat_ratio >= th.covered_ratio and not any(x.kind is Verdict.BLACK for x in findings):
        findings.append(Finding(Verdict.COVERED, f"almost no detail left in the picture ({cur.flat_ratio:.0%} of it flat)",
                                {"flat_ratio": cur.flat_ratio, "spread": cur.spread}))

    if base.samples >= th.baseline_samples and base.edge_density > 0:
        ratio = cur.edge_density / base.edge_density
        numbers["sharpness_ratio"] = ratio
        if ratio < th.blur_ratio:
            findings.append(Finding(Verdict.BLURRED,
                                    f"the picture is blurred: {ratio:.0%} of this camera's normal sharpness",
                                    {"sharpness_ratio": ratio, "edge_density": cur.edge_density,
                                     "baseline_edge_density": base.edge_density}))
    if base.samples >= th.baseline_samples and base.reference is not None:
        moved = _moved(base.reference, cur.grey, th)
        numbers.update({k: v for k, v in moved[1].items() if k in ("shift_ratio", "rotation_deg", "match_ratio")})
        if moved[0] is not None:
            findings.append(moved[0])
    return Analysis(findings, mode, numbers, cur, pmed)


def _frozen(a: FrameStats, b: FrameStats, pmed: float | None, keyframe_sizes: Sequence[int],
            base: ModeBaseline, th: Thresholds) -> tuple[Finding | None, dict[str, float]]:
    diff = np.abs(a.grey.astype(np.float32) - b.grey.astype(np.float32))
    block = _blocks(diff).mean(axis=(2, 3))
    still = float(np.mean(block < th.frozen_block_diff))
    nums = {"mean_diff": float(diff.mean()), "still_ratio": still}
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
    if not frozen:
        return None, nums
    return Finding(Verdict.FROZEN, "the picture does not change: the image is frozen", nums), nums


def _moved(reference: np.ndarray, grey: np.ndarray, th: Thresholds) -> tuple[Finding | None, dict[str, float]]:
    orb = cv2.ORB_create(500)
    ka, da = orb.detectAndCompute(reference, None)
    kb, db = orb.detectAndCompute(grey, None)
    nums: dict[str, float] = {"keypoints_ref": len(ka), "keypoints_now": len(kb)}
    if da is None or db is None or len(ka) < th.moved_min_keypoints or len(kb) < th.moved_min_keypoints:
        return None, nums  # too little detail to tell (blur, cover, darkness are judged elsewhere)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    inliers = 0
    shift = rot = 0.0
    if len(matches) >= 8:
        pa = np.float32([ka[m.queryIdx].pt for m in matches])
        pb = np.float32([kb[m.trainIdx].pt for m in matches])
        m, mask = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=3.0)
        if m is not None and mask is not None:
            inliers = int(mask.sum())
            rot = float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))
            shift = float(np.hypot(m[0, 2], m[1, 2])) / reference.shape[1]
    match_ratio = inliers / len(ka)
    nums.update(inliers=inliers, match_ratio=match_ratio, shift_ratio=shift, rotation_deg=rot)
    if inliers >= th.moved_min_inliers and (shift > th.moved_shift or abs(rot) > th.moved_rotation_deg):
        reason = f"the camera has moved: the view is shifted by {shift:.0%} of its width and turned {rot:+.0f}°"
    elif match_ratio < th.moved_min_match_ratio:
        reason = f"the camera looks at another view: only {match_ratio:.0%} of its reference view is found"
    else:
        return None, nums
    return Finding(Verdict.MOVED, reason, nums), nums


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

    new = ModeBaseline(
        samples=old.samples + 1,
        edge_density=ema(old.edge_density, cur.edge_density),
        tenengrad=ema(old.tenengrad, cur.tenengrad),
        pframe_median=ema(old.pframe_median, analysis.pframe_median),
        luma=ema(old.luma, cur.luma),
        reference=old.reference if old.reference is not None else cur.grey,
    )
    return replace(baseline, **{analysis.mode: new})
