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
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
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


def scene_frames(scene: str, size: tuple[int, int] = SIZES["360p"], seconds: int = SECONDS,
                 fps: float = FPS) -> Iterator[np.ndarray]:
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
    n = int(seconds * fps)
    step = FPS / fps  # the scene moves in real time whatever the frame rate
    first = None
    for k in range(n):
        i = int(k * step)  # the scene's own tick (10 per second)
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


@dataclass(frozen=True)
class Shape:
    """How a camera streams a scene: `scene@shape+shape…`, e.g. `day@gop12+join`, `day@mjpeg`, `day@fps1+gop25`.

    gopN: a keyframe every N seconds (default 2) · fpsN: frames per second (default 10) · mjpeg: Motion JPEG
    (every frame intra) · bframes: H.264 with B-frames (two between references: the decoder holds a frame back
    to reorder) · join: each session starts at a random point of the clip, mid-GOP, as a client joining a
    live camera does · udp: the server refuses RTSP over TCP (461) · tsjump: the RTP timestamps jump forward by
    an hour 3 s into the session, as after a camera's reboot."""

    scene: str
    gop_s: float = GOP_FRAMES / FPS
    fps: float = FPS
    codec: str = "h264"
    bframes: bool = False
    join: bool = False
    udp: bool = False
    tsjump: bool = False
    encoding: tuple[str, ...] = ()  # the shapes that make the clip, in the order given (the server names it so)

    @classmethod
    def parse(cls, spec: str) -> Shape:
        scene, _, rest = spec.partition("@")
        kw: dict[str, object] = {}
        parts = [p for p in rest.split("+") if p]
        kw["encoding"] = tuple(p for p in parts if p not in ("join", "udp", "tsjump"))
        for part in parts:
            if part.startswith("gop"):
                kw["gop_s"] = float(part[3:])
            elif part.startswith("fps"):
                kw["fps"] = float(part[3:])
            elif part == "mjpeg":
                kw["codec"] = "mjpeg"
            elif part == "bframes":
                kw["bframes"] = True
            elif part in ("join", "udp", "tsjump"):
                kw[part] = True
            else:
                raise ValueError(f"unknown stream shape {part!r} in {spec!r}")
        return cls(scene, **kw)  # type: ignore[arg-type]

    @property
    def clip(self) -> str:
        """The encoded clip this shape streams (transport and joining are the server's business)."""
        return f"{self.scene}@{'+'.join(self.encoding)}" if self.encoding else self.scene

    @property
    def seconds(self) -> int:
        return int(max(SECONDS, 3 * self.gop_s))


def encode(frames: Iterator[np.ndarray], path: Path, size: tuple[int, int], fps: float = FPS,
           gop_frames: int = GOP_FRAMES, codec: str = "h264", bframes: bool = False) -> None:
    """Encode BGR frames the way a camera does: H.264 with a fixed GOP and no B-frames (MP4; `bframes`: two
    between references), or MJPEG (MKV)."""
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    with av.open(str(tmp), "w") as out:
        if codec == "mjpeg":
            st = out.add_stream("mjpeg", rate=Fraction(fps).limit_denominator(1000))
            st.pix_fmt = "yuvj420p"
            st.options = {"q:v": "5"}
        else:
            st = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            st.pix_fmt = "yuv420p"
            st.options = {"g": str(gop_frames), "keyint_min": str(gop_frames), "sc_threshold": "0",
                          "bf": "2" if bframes else "0", "preset": "veryfast", "crf": "26", "profile": "main"}
        st.width, st.height = size
        for img in frames:
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    tmp.replace(path)


def cut(src: Path, dst: Path, start_s: float) -> None:
    """The clip from `start_s` on, without re-encoding: it starts mid-GOP, on a P-frame, like a live camera
    a client joins. Timestamps restart at 0."""
    tmp = dst.with_name(dst.stem + ".part" + dst.suffix)
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        first: int | None = None
        for pkt in inp.demux(ist):
            if pkt.pts is None or pkt.pts * ist.time_base < start_s:
                continue
            first = pkt.pts if first is None else first
            pkt.pts -= first
            pkt.dts = pkt.pts
            pkt.stream = ost
            out.mux(pkt)
    tmp.replace(dst)


def live_cuts(path: Path, gop_s: float, seconds: float) -> int:
    """Cuts of a clip at its keyframes (`name^k`), without re-encoding: the server starts each session at the
    cut the wall clock points to, so that successive checks see different moments of the scene, as of a live
    camera (a file served from its start would show every check the same frames: a frozen camera). Each cut
    keeps at least two GOPs. Returns how many starting points there are (the clip itself is the first)."""
    n = max(1, int((seconds - 2 * gop_s) // gop_s) + 1)
    for k in range(1, n):
        dst = path.with_name(f"{path.stem}^{k}{path.suffix}")
        if not dst.exists():
            cut(path, dst, k * gop_s)
    return n


def ensure_shape(directory: Path, spec: str, size_name: str = "360p") -> Path:
    """The clip of a stream shape, encoded once (and its mid-GOP cuts for `join`); returns its path."""
    shape = Shape.parse(spec)
    ext = "mkv" if shape.codec == "mjpeg" else "mp4"
    path = directory / f"{shape.clip}.{ext}"
    directory.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        encode(scene_frames(shape.scene, SIZES[size_name], seconds=shape.seconds, fps=shape.fps), path,
               SIZES[size_name], shape.fps, max(1, round(shape.gop_s * shape.fps)), shape.codec, shape.bframes)
    if shape.join:
        for k in range(1, math.ceil(shape.gop_s)):
            dst = directory / f"{shape.clip}~{k}.{ext}"
            if not dst.exists():
                cut(path, dst, float(k))
    return path


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
            live_cuts(path, GOP_FRAMES / FPS, SECONDS)
            clips[name] = path
    return clips
