"""The picture thresholds the analysis takes (`[thresholds]`): ratios to each camera's own baseline mostly."""

from __future__ import annotations

from pydantic import Field

from camwatch.config.base import Strict


class Thresholds(Strict):
    """Where the picture analysis draws its lines (`[defaults.thresholds]`)."""

    black_level: int = Field(32, ge=0, le=255)  # luma at or below this is black (FFmpeg blackdetect: min + 10 % of range)
    black_ratio: float = Field(0.98, gt=0, le=1)  # share of black pixels for a black frame
    black_spread: float = Field(16.0, ge=0)  # p98 - p2 luma: a live night scene has light sources and texture
    frozen_block_diff: float = Field(1.0, gt=0)  # mean |difference| (grey levels) below which a block is still
    frozen_still_ratio: float = Field(0.5, gt=0, le=1)  # share of still blocks (the OSD clock is allowed to tick)
    frozen_pframe_ratio: float = Field(0.01, gt=0)  # P-frame median size / keyframe size: the encoder sees no change
    frozen_vs_baseline: float = Field(0.25, gt=0)  # P-frame median / this camera's healthy P-frame median
    frozen_ignore_share: float = Field(0.1, ge=0, lt=1)  # across checks: the most-changed blocks left out (OSD clock)
    frozen_change_samples: int = Field(3, ge=1)  # healthy check-to-check changes learned before judging across checks
    frozen_change_ratio: float = Field(0.65, gt=0, lt=1)  # change / the low envelope of its healthy change: frozen
    frozen_change_spread: float = Field(0.0, ge=0)  # … and below typical × exp(-spread × its learned log-deviation)
    frozen_change_floor: float = Field(0.05, ge=0)  # grey levels: a change this small is frozen whatever the spread
    frozen_change_max: float = Field(1.0, gt=0)  # grey levels: a change above this is never frozen
    # within a check: the two keyframes' quietest blocks differ by at most this share of this camera's usual
    # difference there (its noise: room for the noise to fall as the gain goes down with the light)
    frozen_within_ratio: float = Field(0.3, gt=0, lt=1)
    frozen_within_min: float = Field(0.3, ge=0)  # grey levels: a usual difference under this is not judged
    frozen_within_live: float = Field(0.8, gt=0)  # … at least this share of it: the sensor is live (not frozen across)
    # one keyframe is enough (`keyframes_when_recent`) when it changed by more than this × the frozen limit
    frozen_second_look: float = Field(1.4, ge=1)
    covered_block_std: float = Field(3.0, gt=0)  # a block with less texture than this (after denoising) is flat
    covered_ratio: float = Field(0.85, gt=0, le=1)  # share of flat blocks for a covered lens
    cover_textured_std: float = Field(4.0, gt=0)  # a reference block with this much texture can lose it
    cover_lost_ratio: float = Field(0.35, gt=0, lt=1)  # texture now / in the reference below this: the block is lost
    cover_partial_share: float = Field(0.25, gt=0, le=1)  # share of textured blocks lost for a partial cover
    cover_partial_max: float = Field(0.7, gt=0, le=1)  # above this (and below full) too little is left to tell
    cover_partial_kept_max: float = Field(0.85, gt=0)  # … and at most this share of the reference's texture in all
    cover_full_share: float = Field(0.85, gt=0, le=1)  # share of textured blocks lost for a covered lens
    # … and the picture's texture in all, against the reference's, at most this (a turned view keeps its own)
    cover_kept_max: float = Field(0.5, gt=0, le=1)
    # … or this share lost, what is left not in place and at most `cover_kept_max` of the texture: an occluder with
    # a texture of its own over the lens (out of focus: much less of it than the view had)
    cover_occluder_share: float = Field(0.5, gt=0, le=1)
    cover_min_blocks: int = Field(12, ge=1)  # fewer textured reference blocks than this: no partial-cover verdict
    cover_in_place: float = Field(0.7, ge=-1, le=1)  # the uncovered part's correlation with the reference, at least
    blur_ratio: float = Field(0.6, gt=0, lt=1)  # edge density / baseline edge density below this is blurred
    blur_mild_ratio: float = Field(0.8, gt=0, lt=1)  # … or below this, with the gradients' energy (Tenengrad)
    blur_gradient_ratio: float = Field(0.7, gt=0, lt=1)  # … below this share of the baseline's
    blur_same_light: float = Field(0.1, ge=0, lt=1)  # … and the mean luma within this share of the baseline's
    moved_shift: float = Field(0.05, gt=0, lt=1)  # displacement as a share of the width
    moved_rotation_deg: float = Field(3.0, gt=0)
    moved_min_inliers: int = Field(12, ge=1)
    moved_min_keypoints: int = Field(40, ge=1)
    moved_min_match_ratio: float = Field(0.12, gt=0, lt=1)  # matched share of the reference's keypoints
    moved_in_place: float = Field(0.8, ge=-1, le=1)  # blocks line up with the reference this well: not moved
    moved_not_in_place: float = Field(0.3, ge=-1, le=1)  # … this badly (and few ORB matches): moved
    dark_luma: float = Field(15.0, ge=0)  # mean luma at or below this (with `dark_black_ratio`) is too dark
    dark_black_ratio: float = Field(0.95, gt=0, le=1)  # share of pixels at `black_level` or below
    dark_vs_baseline: float = Field(0.35, gt=0, lt=1)  # luma / this mode's healthy luma below this is too dark
    dark_noise: float = Field(0.9, ge=0)  # Immerkær σ (grey levels, 320 px) of a live sensor: a black frame has less
    night_chroma: float = Field(3.0, ge=0)  # mean |Cb|+|Cr| below this: the camera is in IR (grey) mode
    baseline_samples: int = Field(2, ge=1)  # healthy checks before baseline-relative findings are made
