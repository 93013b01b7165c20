"""Judge a picture: keyframes (+ packet sizes) and this camera's baseline in, findings out. Pure.

`frame` (one keyframe's numbers), `baseline` (what the camera looks like when healthy, and its last
picture), `frozen` (within a check and across checks), `view` (covered, partly covered, moved),
`core` (`analyse`: every finding of one check, black and dark, blurred).
"""

from camwatch.analysis.baseline import Baseline, ModeBaseline, judged_across, remember, update_baseline
from camwatch.analysis.core import DEFAULT_THRESHOLDS, Analysis, analyse
from camwatch.analysis.frame import GRID, WIDTH, FrameStats, frame_stats

__all__ = ["DEFAULT_THRESHOLDS", "GRID", "WIDTH", "Analysis", "Baseline", "FrameStats", "ModeBaseline", "analyse",
           "frame_stats", "judged_across", "remember", "update_baseline"]
