"""One keyframe's numbers, on downscaled grey frames (320 px wide: the literature finds no gain above that)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.config.settings import Thresholds

WIDTH = 320
THUMB = 160  # the thumbnail kept from check to check (160×90 for 16:9)
GRID = (8, 6)  # blocks across, down
TEX_GRID = (16, 9)  # the finer grid of the texture map (20×20-pixel blocks at 320×180)
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


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
    thumb: np.ndarray | None = None  # THUMB-wide grey, for the next check
    texture: np.ndarray | None = None  # TEX_GRID block std of the smoothed picture


def small_ycc(img: np.ndarray) -> np.ndarray:
    """The picture at WIDTH pixels wide, in YCrCb."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (WIDTH, max(2, round(h * WIDTH / w))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb)


def grey_of(img: np.ndarray) -> np.ndarray:
    """Only the grey WIDTH-wide picture (what an earlier keyframe of the same check is compared with)."""
    return np.ascontiguousarray(small_ycc(img)[..., 0])


def chroma_of(ycc: np.ndarray) -> float:
    """How much colour a YCrCb picture holds (an IR night picture has next to none)."""
    return float(np.mean(np.abs(ycc[..., 1:].astype(np.int16) - 128)) * 2)


def mode_of(chroma: float, th: Thresholds) -> str:
    """"night" (IR: next to no colour) or "day": the baselines are kept apart by it."""
    return "night" if chroma < th.night_chroma else "day"


def percentiles(grey: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The `lo` and `hi` quantiles of an 8-bit picture, from its histogram (no sort)."""
    cum = np.cumsum(np.bincount(grey.ravel(), minlength=256))
    n = cum[-1]
    return float(np.searchsorted(cum, lo * n)), float(np.searchsorted(cum, hi * n))


def frame_stats(img: np.ndarray, th: Thresholds) -> FrameStats:
    ycc = small_ycc(img)
    grey = np.ascontiguousarray(ycc[..., 0])
    chroma = chroma_of(ycc)
    g = grey.astype(np.float32)
    p2, p98 = percentiles(grey, 0.02, 0.98)
    smooth = cv2.GaussianBlur(g, (5, 5), 0)
    flat = float(np.mean(blocks(smooth).std(axis=(2, 3)) < th.covered_block_std))
    eq = cv2.equalizeHist(cv2.GaussianBlur(grey, (3, 3), 0))
    edges = float(np.count_nonzero(cv2.Canny(eq, 100, 200))) / grey.size
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    noise = float(np.sum(np.abs(cv2.filter2D(g, -1, _IMMERKAER)[1:-1, 1:-1])) * np.sqrt(0.5 * np.pi)
                  / (6 * (g.shape[0] - 2) * (g.shape[1] - 2)))
    return FrameStats(
        grey=grey, luma=float(g.mean()), black_ratio=float(np.mean(grey <= th.black_level)),
        spread=float(p98 - p2), chroma=chroma, flat_ratio=flat, edge_density=edges,
        tenengrad=float(np.mean(gx * gx + gy * gy)), noise=noise, thumb=thumbnail(grey),
        texture=texture(smooth),
    )


def thumbnail(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape
    return cv2.resize(grey, (THUMB, max(2, round(h * THUMB / w))), interpolation=cv2.INTER_AREA)


def texture(smooth: np.ndarray) -> np.ndarray:
    """How much detail each block of the (smoothed) picture holds: its standard deviation."""
    return blocks(smooth, TEX_GRID).std(axis=(2, 3))


def blocks(a: np.ndarray, grid: tuple[int, int] = GRID) -> np.ndarray:
    """(down, across, bh, bw): the picture cut into a grid of blocks (edges that do not fit are dropped)."""
    gx, gy = grid
    h, w = a.shape
    bh, bw = h // gy, w // gx
    return a[: bh * gy, : bw * gx].reshape(gy, bh, gx, bw).swapaxes(1, 2)
