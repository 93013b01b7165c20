"""Realistic camera scenes (and their faults) encoded once into H.264 clips.

Scenes are built from a real photograph shipped by scikit-image, animated the way a roadside
camera sees the world: sensor noise on every frame, a vehicle crossing, a burned-in clock (OSD).
Faults are synthesised from the same scene: black (video loss, OSD still drawn), frozen (sensor
hung, with and without the OSD clock still running), covered, defocused, moved (knocked askew),
and a night (IR, grey) version that must *not* be a fault.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

log = logging.getLogger(__name__)

SCENES = ("day", "static", "night", "black", "frozen", "frozen_clock", "covered", "blurred", "moved")
FPS = 10
GOP_FRAMES = 20  # a 2-second GOP, like most cameras
SECONDS = 30
SIZES = {"360p": (640, 360), "1080p": (1920, 1080)}
CLOCK_START = dt.datetime(2026, 11, 28, 14, 5, 0)


def _world(seed: int = 7) -> np.ndarray:
    """A large photo (BGR) the camera looks at; views are crops of it."""
    from skimage import data  # imported lazily: only the simulator needs scikit-image

    rocket = cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2BGR)
    return cv2.resize(rocket, (1000, 667), interpolation=cv2.INTER_CUBIC)


def _view(world: np.ndarray, size: tuple[int, int], *, moved: bool = False) -> np.ndarray:
    w, h = size
    x0, y0, cw, ch = 120, 120, 760, 428
    if moved:  # knocked askew: turned and tilted
        m = cv2.getRotationMatrix2D((500, 333), 6.0, 1.0)
        world = cv2.warpAffine(world, m, (world.shape[1], world.shape[0]), borderMode=cv2.BORDER_REFLECT)
        x0, y0 = 230, 40
    return cv2.resize(world[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_AREA)


def _clock(img: np.ndarray, i: int) -> None:
    t = CLOCK_START + dt.timedelta(seconds=i // FPS)
    s = img.shape[1] / 640
    cv2.putText(img, t.strftime("%d-%m-%Y %H:%M:%S"), (int(10 * s), int(24 * s)), cv2.FONT_HERSHEY_SIMPLEX,
                0.6 * s, (255, 255, 255), max(1, int(2 * s)), cv2.LINE_AA)


def _vehicle(img: np.ndarray, i: int) -> None:
    h, w = img.shape[:2]
    x = int((i * w / 60) % (w + 200)) - 100
    y = int(h * 0.78)
    cv2.rectangle(img, (x, y), (x + w // 8, y + h // 12), (40, 40, 170), -1)
    cv2.rectangle(img, (x + w // 40, y - h // 25), (x + w // 12, y), (60, 60, 60), -1)


def _noise(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    n = rng.normal(0.0, sigma, img.shape[:2])[..., None]
    return np.clip(img.astype(np.float32) + n, 0, 255).astype(np.uint8)


def scene_frames(scene: str, size: tuple[int, int] = SIZES["360p"], seconds: int = SECONDS) -> Iterator[np.ndarray]:
    """Yield BGR frames of one scene."""
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
    rng = np.random.default_rng(zlib.crc32(scene.encode()))
    base = _view(_world(), size, moved=scene == "moved")
    w, h = size
    if scene == "night":
        grey = cv2.cvtColor(base, cv2.COLOR_BGR2GRAY)
        dark = (grey.astype(np.float32) * 0.22 + 6).astype(np.uint8)
        for cx, cy in ((0.2, 0.35), (0.7, 0.3), (0.9, 0.6)):  # street lamps
            cv2.circle(dark, (int(cx * w), int(cy * h)), max(3, w // 80), 250, -1)
            cv2.circle(dark, (int(cx * w), int(cy * h)), max(8, w // 25), 90, 2)
        base = cv2.cvtColor(dark, cv2.COLOR_GRAY2BGR)
    elif scene == "blurred":
        base = cv2.GaussianBlur(base, (0, 0), sigmaX=5.0 * w / 640)
    elif scene == "covered":  # a cloth or a dirty dome over the lens: almost no texture left
        base = np.full_like(base, (92, 104, 110))
        base = cv2.GaussianBlur(_noise(base, rng, 10), (0, 0), 25)
    elif scene == "black":
        base = np.full_like(base, 12)
    n = seconds * FPS
    first = None
    for i in range(n):
        img = base.copy()
        if scene in ("day", "moved", "blurred"):
            _vehicle(img, i)
        if scene in ("frozen", "frozen_clock"):
            if first is None:
                first = _noise(img, rng, 3.0)
            img = first.copy()
        elif scene != "black":
            img = _noise(img, rng, 4.5 if scene == "night" else 3.0)
        if scene not in ("frozen",):
            _clock(img, i)
        yield img


def encode(frames: Iterator[np.ndarray], path: Path, size: tuple[int, int]) -> None:
    """Encode BGR frames into an H.264 MP4 the way a camera does: fixed GOP, no B-frames."""
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        st = out.add_stream("libx264", rate=FPS)
        st.width, st.height = size
        st.pix_fmt = "yuv420p"
        st.options = {"g": str(GOP_FRAMES), "keyint_min": str(GOP_FRAMES), "sc_threshold": "0", "bf": "0",
                      "preset": "veryfast", "crf": "26", "profile": "main"}
        for img in frames:
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    tmp.replace(path)


def ensure_clips(directory: Path, sizes: tuple[str, ...] = ("360p",),
                 progress: Callable[[str], None] | None = None, scenes: tuple[str, ...] = SCENES) -> dict[str, Path]:
    """Encode every scene once into `directory` (skipping clips already there); return name → path."""
    directory.mkdir(parents=True, exist_ok=True)
    clips: dict[str, Path] = {}
    for size_name in sizes:
        for scene in scenes:
            name = scene if size_name == "360p" else f"{scene}_{size_name}"
            path = directory / f"{name}.mp4"
            if not path.exists():
                if progress:
                    progress(name)
                encode(scene_frames(scene, SIZES[size_name]), path, SIZES[size_name])
            clips[name] = path
    return clips
