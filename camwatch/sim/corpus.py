"""A labelled corpus of camera streams, each fault through real encoders: the detection benchmark's material.

A *case* is one camera over a run of checks minutes apart: a few healthy checks (the camera's baseline is
learned from them), then the fault (or, for the healthy streams, a whole simulated day). Each check is one
segment of a single continuous x264 or x265 encode (the encoder's rate control carries over, as on a real camera):
the segment starts on a keyframe and holds what a check reads (two GOPs: two keyframes one GOP apart and the
P-frames between; a check that stops after the first reads its first P-frames only). Between segments the
scene jumps minutes ahead: the traffic, the daylight, the OSD clock and the sensor noise are those of the
next check. `corpus_encode.ensure()` encodes a case once; `observations()` decodes its clip into the same
`Observation`s the RTSP probe produces; `corpus_clips.write_check_clips()` writes one clip per check for the
RTSP simulator.

Scenes are real photographs (scikit-image) with sensor noise, vehicles, a burned-in clock, day and IR-night
versions; occluders are scikit-image's textures, defocused as an object on the lens is.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path

import av
import cv2
import numpy as np

from camwatch.model import Observation, StreamFacts, Verdict
from camwatch.probe import Enough
from camwatch.probe.rtsp import SETTLE_PFRAMES

# bumped when the clips change: version 2 cut a check's segment at the encoder's own keyframe (two GOPs) where
# version 1 forced one right after it (a CBR encoder starves a second keyframe in a row: the check's first
# picture was of a poorer quality than any camera sends); version 3 moves an IR view's street lamps with the scene
# when the camera turns (version 2 left them in place in the frame: a moved view kept them, and lined up); version
# 4 gives a long GOP's check two keyframes too (version 3: one and two seconds of P-frames), as the probe reads
# when freezing is in doubt
CORPUS_VERSION = 4
SIZES = {"360p": (640, 360), "1080p": (1920, 1080)}
PHOTOS = ("rocket", "astronaut", "coffee", "chelsea", "camera", "motorcycle")
OCCLUDERS = ("grass", "gravel", "brick")
HEALTHY = ("day", "night", "static")
FAULTS = ("black", "dark", "frozen", "frozen_clock", "frozen_pattern", "covered", "covered_partial", "blurred",
          "moved")
LABEL = {"black": Verdict.BLACK, "dark": Verdict.DARK, "frozen": Verdict.FROZEN, "frozen_clock": Verdict.FROZEN,
         "frozen_pattern": Verdict.FROZEN, "covered": Verdict.COVERED, "covered_partial": Verdict.COVERED,
         "blurred": Verdict.BLURRED, "moved": Verdict.MOVED}
CLOCK0 = dt.datetime(2026, 11, 28, 0, 0, 0)


@dataclass(frozen=True)
class Case:
    """One camera's run of checks. `condition`: a healthy stream (day, night, static) or a fault."""

    photo: str
    condition: str
    rc: str = "crf"  # crf, cbr, vbr
    denoise: bool = False  # temporal denoise (atadenoise) before the encoder, as many cameras do
    gop_s: float = 2.0
    size: str = "360p"
    fps: float = 10.0
    learn: int = 4  # healthy checks before the fault
    checks: int = 6  # checks of the fault (healthy streams: all checks)
    every_min: float = 1.0  # minutes between checks
    start_h: float = 10.0  # the hour of day of the first check
    night: bool = False  # the fault happens on the IR-night version of the scene
    variant: int = 0  # picks the occluder, the blur, the move, the lamp
    codec: str = "h264"  # h264 (x264) or hevc (x265)

    @property
    def name(self) -> str:
        dn = "+dn" if self.denoise else ""
        ir = "+ir" if self.night else ""
        hevc = "+hevc" if self.codec == "hevc" else ""
        return (f"{self.condition}{ir}-{self.photo}-{self.rc}{dn}{hevc}-g{self.gop_s:g}-{self.size}-v{self.variant}"
                f"-{self.learn}x{self.checks}x{self.every_min:g}m-h{self.start_h:g}")

    @property
    def label(self) -> Verdict:
        return LABEL.get(self.condition, Verdict.OK)

    @property
    def keyframes(self) -> int:
        """Two, as a check reads when freezing is in doubt, whatever the GOP (a long GOP is read on one keyframe
        when the first shows a live picture beyond doubt: `as_read`)."""
        return 2

    @property
    def gop(self) -> int:
        return max(1, round(self.gop_s * self.fps))

    @property
    def segment(self) -> int:
        """Frames per check: two GOPs, K P… K P… (two keyframes; the next check's keyframe falls where the encoder
        puts its own: two keyframes back to back would have the second starved by a CBR encoder's buffer)."""
        return 2 * self.gop

    def hour(self, k: int) -> float:
        return (self.start_h + k * self.every_min / 60) % 24

    def faulty(self, k: int) -> bool:
        return self.condition not in HEALTHY and k >= self.learn

    @property
    def total(self) -> int:
        return self.checks if self.condition in HEALTHY else self.learn + self.checks


# ----------------------------------------------------------------------------------------------- the world
@cache
def _photo(name: str) -> np.ndarray:
    from skimage import data  # only the simulator needs scikit-image

    if name == "motorcycle":
        img = data.stereo_motorcycle()[0]
    elif name == "motorcycle_right":
        img = data.stereo_motorcycle()[1]
    else:
        img = getattr(data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2BGR)


def _crop(img: np.ndarray, size: tuple[int, int], dx: float = 0.0, angle: float = 0.0) -> np.ndarray:
    """A 16:9 view of a photo; `dx` (share of the width) and `angle` (degrees) turn the camera."""
    h, w = img.shape[:2]
    rot, x0, y0, cw, ch = _view_of(img.shape, dx, angle)
    if angle:
        img = cv2.warpAffine(img, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    return cv2.resize(img[y0:y0 + ch, x0:x0 + cw], size, interpolation=cv2.INTER_AREA)


def _view_of(shape: tuple[int, ...], dx: float, angle: float) -> tuple[np.ndarray, int, int, int, int]:
    """`_crop`'s view of a photo: its rotation (2×3) and the crop (x0, y0, width, height) in the photo."""
    h, w = shape[:2]
    ch = min(h, int(w * 9 / 16 * 0.86))
    cw = int(ch * 16 / 9)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return rot, int(np.clip((w - cw) / 2 + dx * cw, 0, w - cw)), (h - ch) // 2, cw, ch


def _follow(points: np.ndarray, shape: tuple[int, ...], size: tuple[int, int], dx: float,
            angle: float) -> np.ndarray:
    """Points of the straight view (pixels, N×2) where the view turned by `dx`, `angle` shows them: what is in
    the scene (a street lamp) moves with it when the camera turns."""
    _, x0, y0, cw, ch = _view_of(shape, 0.0, 0.0)
    scale = np.array([cw / size[0], ch / size[1]])
    in_photo = points * scale + (x0, y0)
    rot, x1, y1, _, _ = _view_of(shape, dx, angle)
    turned = in_photo @ rot[:, :2].T + rot[:, 2]
    return (turned - (x1, y1)) / scale


def daylight(hour: float) -> float:
    """0 at night … 1 at noon; the camera switches to IR below 0.15."""
    return max(0.0, math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0


def _ir(view: np.ndarray, lit: float, seed: int,
        turn: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The IR-night picture: grey, lit by the camera's own illuminator (`lit` 1: working, ~0.06: failed); the
    street lamps are in the scene: `turn` maps their place in the straight view to this view (a moved camera)."""
    h, w = view.shape[:2]
    grey = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    falloff = 1.0 - 0.45 * (((xx - w / 2) / w) ** 2 + ((yy - h * 0.6) / h) ** 2) * 3  # IR spot in the middle
    out = grey * (0.55 * lit) * falloff + 4
    rng = np.random.default_rng(seed)
    if lit > 0.5 or rng.random() < 0.5:  # street lamps (some dark cases have none)
        for _ in range(int(rng.integers(1, 4))):
            cx, cy = int(rng.integers(w // 10, w * 9 // 10)), int(rng.integers(h // 8, h // 2))
            if turn is not None:  # (corpus version 2 left them in place, in the frame: a moved view kept them)
                cx, cy = (round(float(v)) for v in turn(np.array([[cx, cy]], np.float64))[0])
            cv2.circle(out, (cx, cy), max(2, w // 90), 245, -1)
            cv2.circle(out, (cx, cy), max(6, w // 28), 70 * lit + 30, 2)
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def _occluder(case: Case, size: tuple[int, int], full: bool) -> tuple[np.ndarray, np.ndarray]:
    """(picture, alpha): a texture on the lens, out of focus; partial: a blob over 30–60 % of the view."""
    from skimage import data

    w, h = size
    tex = getattr(data, OCCLUDERS[case.variant % len(OCCLUDERS)])()
    tex = cv2.resize(tex, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * 0.6 + 20
    pic = cv2.GaussianBlur(tex, (0, 0), 12 * w / 640)
    alpha = np.ones((h, w), np.float32)
    if not full:
        alpha[:] = 0
        shape = case.variant % 4
        if shape == 0:
            alpha[:, : int(w * 0.5)] = 1  # a sign on the left half
        elif shape == 1:
            cv2.ellipse(alpha, (int(w * 0.3), int(h * 0.35)), (int(w * 0.38), int(h * 0.5)), 20, 0, 360, 1.0, -1)
        elif shape == 2:
            alpha[: int(h * 0.55), :] = 1  # a leaf hanging over the top
        else:
            cv2.circle(alpha, (int(w * 0.75), int(h * 0.7)), int(h * 0.6), 1.0, -1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), 8 * w / 640)
    tint = ((1.0, 1.0, 1.0), (0.55, 1.0, 0.6), (0.6, 0.75, 1.0))[case.variant % 3]  # grey, a leaf, a brick
    pic = np.stack([pic * t for t in tint], axis=2)
    return np.clip(pic, 0, 255).astype(np.uint8), alpha[..., None]


def _pattern(size: tuple[int, int]) -> np.ndarray:
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    bars = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0), (192, 0, 192), (0, 0, 192), (192, 0, 0)]
    for i, c in enumerate(bars):
        img[: h * 2 // 3, i * w // 7:(i + 1) * w // 7] = c
    img[h * 2 // 3:] = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None]
    return img


def _clock(img: np.ndarray, t: dt.datetime) -> None:
    s = img.shape[1] / 640
    cv2.putText(img, t.strftime("%d-%m-%Y %H:%M:%S"), (int(10 * s), int(24 * s)), cv2.FONT_HERSHEY_SIMPLEX,
                0.6 * s, (255, 255, 255), max(1, int(2 * s)), cv2.LINE_AA)


def _vehicles(img: np.ndarray, t_s: float, seed: int, busy: float) -> None:
    h, w = img.shape[:2]
    rng = np.random.default_rng(seed)
    for lane in range(3):
        if rng.random() > busy:
            continue
        speed = w * rng.uniform(0.08, 0.25)  # per second
        x = int((t_s * speed + rng.uniform(0, w)) % (w + 200)) - 100
        y = int(h * (0.62 + 0.12 * lane))
        colour = tuple(int(c) for c in rng.integers(20, 230, 3))
        cv2.rectangle(img, (x, y), (x + w // 9, y + h // 14), colour, -1)
        cv2.rectangle(img, (x + w // 45, y - h // 28), (x + w // 13, y), (50, 50, 50), -1)


def frames(case: Case) -> Iterator[tuple[int, np.ndarray]]:
    """(check index, BGR frame) for every frame of the case's clip."""
    size = SIZES[case.size]
    seed = zlib.crc32(case.name.encode())
    rng = np.random.default_rng(seed)
    day_view = _crop(_photo(case.photo), size)
    stereo = case.photo == "motorcycle" and case.variant % 2 == 0  # the other view of a stereo pair
    dx, angle = (0.0, 0.0) if stereo else ((0.08, -0.12, 0.1)[case.variant % 3], (4.0, 0.0, -5.0)[case.variant % 3])
    moved_view = _crop(_photo("motorcycle_right" if stereo else case.photo), size, dx=dx, angle=angle)
    turned = partial(_follow, shape=_photo(case.photo).shape, size=size, dx=dx, angle=angle)
    sigma_blur = (3.0, 4.5, 6.0)[case.variant % 3] * size[0] / 640
    occ = _occluder(case, size, case.condition == "covered") if case.condition.startswith("covered") else None
    frozen: np.ndarray | None = None
    for k in range(case.total + 1):  # and a tail no check reads: the encoder ends its stream differently
        hour = case.hour(min(k, case.total - 1))
        light = daylight(hour)
        ir = case.night or (light < 0.15 and case.condition != "static") or case.condition in ("night", "dark")
        fault = case.condition if case.faulty(min(k, case.total - 1)) else None
        view = moved_view if fault == "moved" else day_view
        if case.condition == "static":
            base = view.astype(np.float32) * 0.9  # constant light, nothing moves: only the sensor noise lives
        elif ir:
            base = _ir(view, 0.06 if fault == "dark" else 1.0, seed,
                       turned if fault == "moved" else None).astype(np.float32)
        else:
            base = view.astype(np.float32) * (0.55 + 0.45 * light)
        sigma = 5.0 if ir else 2.5
        t0 = k * case.every_min * 60
        clock = CLOCK0 + dt.timedelta(hours=hour)
        for i in range(case.segment):
            t_s = t0 + i / case.fps
            if fault in ("frozen", "frozen_clock", "frozen_pattern") and frozen is not None:
                img = frozen.copy()
            elif fault == "black":
                img = np.full((size[1], size[0], 3), 16, np.uint8)
            else:
                img = np.clip(base, 0, 255).astype(np.uint8)
                if case.condition not in ("static",) and fault != "dark":
                    _vehicles(img, t_s, seed + k, busy=0.4 if ir else 0.8)
                    if ir:  # an IR picture has no colour
                        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
                if fault == "blurred":
                    img = cv2.GaussianBlur(img, (0, 0), sigma_blur)
                if occ is not None and fault in ("covered", "covered_partial"):
                    pic, alpha = occ
                    img = (img * (1 - alpha) + pic * alpha).astype(np.uint8)
                noise = rng.normal(0.0, sigma, img.shape[:2]).astype(np.float32)[..., None]
                img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
                if fault in ("frozen", "frozen_clock"):
                    frozen = img.copy()
                elif fault == "frozen_pattern":
                    frozen = _pattern(size)
                    img = frozen.copy()
            if fault not in ("frozen", "frozen_pattern") or frozen is None or fault == "black":
                _clock(img, clock + dt.timedelta(seconds=i / case.fps))
            yield k, img


def observations(case: Case, path: Path) -> Iterator[tuple[int, Observation]]:
    """Per check, what the RTSP probe would bring back: keyframes (≤ 640 wide), P-frame and keyframe sizes."""
    per = case.segment
    with av.open(str(path)) as inp:
        st = inp.streams.video[0]
        packets = [p for p in inp.demux(st) if p.size]
        for k in range(case.total):
            seg = packets[k * per:(k + 1) * per]
            keys, key_sizes, p_sizes = [], [], []
            for pkt in seg:
                if not pkt.is_keyframe:
                    p_sizes.append(pkt.size)
                    continue
                if len(keys) >= case.keyframes:
                    break
                for fr in st.codec_context.decode(pkt):
                    wd = min(640, fr.width)
                    ht = max(2, round(fr.height * wd / fr.width / 2) * 2)
                    keys.append(fr.reformat(width=wd, height=ht, format="bgr24").to_ndarray())
                    key_sizes.append(pkt.size)
            facts = StreamFacts(codec=case.codec, width=st.codec_context.width, height=st.codec_context.height,
                                fps=case.fps, gop_s=case.gop_s)
            yield k, Observation(ok=True, duration_s=case.gop_s * case.keyframes, stream=facts, keyframes=keys,
                                 keyframe_times=[i * case.gop_s for i in range(len(keys))], pframe_sizes=p_sizes,
                                 keyframe_sizes=key_sizes, snapshot=keys[-1] if keys else None)


def as_read(obs: Observation, enough: Enough | None) -> Observation:
    """What the RTSP probe brings back when `enough` stops it early: asked SETTLE_PFRAMES P-frames after each
    keyframe (a segment starts on a keyframe), it stops there, and the later keyframes and P-frames are not seen."""
    if enough is None:
        return obs
    for n in range(1, len(obs.keyframes)):
        seen = obs.pframe_sizes[:SETTLE_PFRAMES * n]
        if enough(obs.keyframes[:n], seen):
            return replace(obs, keyframes=obs.keyframes[:n], keyframe_times=obs.keyframe_times[:n],
                           keyframe_sizes=obs.keyframe_sizes[:n], pframe_sizes=seen, snapshot=obs.keyframes[n - 1],
                           duration_s=obs.duration_s * n / len(obs.keyframes))
    return obs
