"""RTSP probe: PyAV (FFmpeg) opens the stream, reads packets, decodes keyframes only.

Every step is bounded: a socket timeout for the TCP connection, PyAV's interrupt-callback timeouts
for opening and for each read (shrunk to what is left of the overall deadline), and a check of the
deadline after every packet. The session is closed (RTSP TEARDOWN) as soon as we have what we need.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import logging
import time

import av
import av.error
import numpy as np

from camwatch.config.settings import CheckSettings
from camwatch.model import SNAPSHOT_WIDTH, ErrorKind, Observation, StreamFacts
from camwatch.probe import Enough, Target
from camwatch.probe.rtsp_peer import PeerReport, examine
from camwatch.urls import with_credentials

log = logging.getLogger(__name__)

# No single allocation of FFmpeg's may exceed this (libavutil's av_max_alloc; its default is 2 GiB). A camera
# decides how much FFmpeg reserves — `Content-Length: 1000000000` on a DESCRIBE made it fill 1 GB — while the
# largest honest need is a frame plane: 4K YUV 4:2:0 is 12 MiB. Every buffer that grows with what a peer sends
# (a reply's body, a packet, an RTP frame being reassembled) is one allocation, so this bounds a check's memory.
MAX_ALLOC = 32 << 20


def limit_allocations(max_bytes: int = MAX_ALLOC) -> bool:
    """Cap every allocation of the FFmpeg that PyAV loaded (process-wide; done once, at import)."""
    try:  # dlsym on PyAV's own module searches the libraries it links: the one libavutil in this process
        cap = ctypes.CDLL(av._core.__file__).av_max_alloc
    except (OSError, AttributeError) as err:
        log.warning("cannot cap FFmpeg's allocations (%s): a hostile camera may cost much memory", err)
        return False
    cap.argtypes, cap.restype = [ctypes.c_size_t], None
    cap(max_bytes)
    return True


limit_allocations()

# PyAV fixes its per-read timeout at open: a read that stalls ends after READ_TIMEOUT_S. No read starts later
# than that before the deadline, so none outlives it (2.5 s: a 1 fps camera sends a frame every second).
READ_TIMEOUT_S = 2.5
EXAMINE_S = 1.5
TRANSPORTS = ("tcp", "udp")  # the order `auto` tries; a 461 Unsupported transport moves to the next
# P-frames read (not decoded) after a keyframe before asking `enough`: whether the encoder is idle
SETTLE_PFRAMES = 5
# What FFmpeg's open (avformat_find_stream_info) decodes to learn the stream's parameters: for H.264 it wants 7
# decoded frames, a keyframe and P-frames decoded in full, only to be thrown away: ~40 % of a one-keyframe check's
# CPU on a 640x360 scene (bench/README.md). Width, height and pixel format come from the parameter sets alone.
OPEN_DECODER = {"skip_frame": "nonkey", "skip_loop_filter": "all"}
# How much of the stream FFmpeg's open reads to learn it: 200 ms (µs), not the ~28 frames of its default
STREAM_PROBE = {"analyzeduration": "200000", "probesize": "65536", "allowed_media_types": "video"}


def probe_rtsp(target: Target, settings: CheckSettings, enough: Enough | None = None) -> Observation:
    """Open the stream, collect `settings.keyframes` keyframes spaced in time, and close, within the deadline;
    earlier when `enough` (asked SETTLE_PFRAMES P-frames after each keyframe, and before the next) says so.

    `transport = "auto"` tries TCP (or what worked last time) and falls back to UDP when the camera answers
    461 Unsupported transport. The credentials are URL-encoded into the address here and never leave it.
    """
    t0 = time.monotonic()
    if settings.transport != "auto":
        order: tuple[str, ...] = (settings.transport,)
    else:
        first = settings.transport_first or "tcp"
        order = (first, *(t for t in TRANSPORTS if t != first))
    obs = Observation.failure(ErrorKind.PROTOCOL, "no transport to try", 0.0)
    for n, transport in enumerate(order):
        obs = _probe(target, settings, transport, t0, enough)
        refused = obs.error is ErrorKind.PROTOCOL and obs.detail.endswith("Protocol not supported")
        if not refused or n == len(order) - 1 or time.monotonic() - t0 >= settings.deadline_s - READ_TIMEOUT_S:
            break
        log.debug("%s refused (461), trying %s", transport, order[n + 1])
    return obs


def _probe(target: Target, settings: CheckSettings, transport: str, t0: float, enough: Enough | None) -> Observation:
    url = with_credentials(target.url, target.user, target.password)
    deadline = t0 + settings.deadline_s
    phase = "connect"
    container = None
    try:
        # what FFmpeg's open leaves of the deadline (up to EXAMINE_S) asks the peer what it did, if the open fails
        open_timeout = min(settings.connect_timeout_s * 2, max(0.5, deadline - time.monotonic() - EXAMINE_S))
        options = {
            "rtsp_transport": transport,
            "timeout": str(int(settings.connect_timeout_s * 1_000_000)),  # socket I/O, µs
            **STREAM_PROBE,
            **OPEN_DECODER,  # PyAV hands the open's options to every stream's decoder in find_stream_info too
        }
        container = av.open(url, options=options, timeout=(open_timeout, READ_TIMEOUT_S))
        phase = "stream"
        video = next((s for s in container.streams if s.type == "video"), None)
        if video is None:
            return Observation.failure(ErrorKind.NO_VIDEO, "the stream carries no video track", time.monotonic() - t0)
        return _read(container, video, settings, t0, deadline, transport, enough)
    except av.error.FFmpegError as err:
        elapsed = time.monotonic() - t0
        kind, reason = classify(err, phase, elapsed, settings, transport)
        if phase == "connect" and unexplained(err, kind) and transport != "http" and target.url.startswith("rtsp:"):
            budget = min(settings.connect_timeout_s, deadline - time.monotonic() - 0.1)
            kind, reason = explain(kind, reason, elapsed, examine(target.url, budget))
        # FFmpeg's exception carries the URL with its password: keep only its type and message
        return Observation.failure(kind, reason, time.monotonic() - t0, detail=f"{type(err).__name__}: {err.strerror}")
    finally:
        if container is not None:
            try:
                container.close()  # sends TEARDOWN
            except av.error.FFmpegError as err:  # a camera that dies during TEARDOWN is no news
                log.debug("close failed: %s", err.strerror)


def _read(container: av.container.InputContainer, video: av.video.stream.VideoStream,
          settings: CheckSettings, t0: float, deadline: float, transport: str, enough: Enough | None) -> Observation:
    tb = float(video.time_base) if video.time_base else 1 / 90000
    keyframes: list[np.ndarray] = []
    key_times: list[float] = []  # arrival (seconds since t0) of the decoded keyframes
    key_sizes: list[int] = []
    key_frames: list[int] = []  # the frame number of every keyframe, decoded or not: the GOP is measured on these
    p_sizes: list[int] = []
    frames: list[tuple[float, float | None]] = []  # (arrival, pts) per frame
    bytes_total = 0
    first_frame_at: float | None = None
    snapshot: np.ndarray | None = None
    phase_reason = ""
    stopped_early = False
    ask_at: int | None = None  # how many P-frames read when `enough` is asked about the keyframes so far
    try:
        for packet in container.demux(video):
            now = time.monotonic()
            if now >= deadline - READ_TIMEOUT_S:
                stopped_early = True
                break
            if packet.size == 0:
                continue
            arrival = now - t0
            stamp = packet.pts if packet.pts is not None else packet.dts
            pts = None if stamp is None else stamp * tb  # FFmpeg gives the first RTSP packet no timestamp
            if not frames or pts is None or pts != frames[-1][1]:
                frames.append((arrival, pts))
            bytes_total += packet.size
            if not packet.is_keyframe:
                p_sizes.append(packet.size)
                if ask_at is not None and len(p_sizes) >= ask_at:
                    ask_at = None
                    if enough is not None and enough(keyframes, p_sizes):
                        break
                continue
            if ask_at is not None:  # the next keyframe came first (a short GOP): ask without it
                ask_at = None
                if enough is not None and enough(keyframes, p_sizes):
                    break
            key_frames.append(len(frames) - 1)
            if key_times and arrival - key_times[-1] < settings.keyframe_spacing_s:
                key_sizes.append(packet.size)
                continue
            img = decode_keyframe(video, packet)
            if img is not None:
                if first_frame_at is None:
                    first_frame_at = time.monotonic() - t0
                snapshot = img
                keyframes.append(img)
                key_times.append(arrival)
                key_sizes.append(packet.size)
            if len(keyframes) >= settings.keyframes:
                break
            ask_at = len(p_sizes) + SETTLE_PFRAMES if enough is not None and keyframes else None
    except av.error.FFmpegError as err:
        phase_reason = err.strerror or type(err).__name__
        if not keyframes:
            kind, reason = classify(err, "read", time.monotonic() - t0, settings, transport)
            return Observation.failure(kind, reason, time.monotonic() - t0)
    duration = time.monotonic() - t0
    ctx = video.codec_context
    intra = len(frames) >= 3 and not p_sizes
    fps = frame_rate(frames)
    facts = StreamFacts(
        codec=ctx.name, width=ctx.width or None, height=ctx.height or None, fps=fps,
        bitrate_bps=bytes_total * 8 / (frames[-1][0] - frames[0][0]) if len(frames) > 1 and frames[-1][0] > frames[0][0]
        else None,
        time_to_first_frame_s=first_frame_at, gop_s=None if intra else gop(key_frames, fps),
        transport=transport, intra_only=intra, timestamp_jump_s=timestamp_jump(frames))
    if not keyframes:
        if not frames:
            reason = f"connected, but no video arrived within {duration:.1f} s"
        else:
            reason = f"video arrived but no keyframe could be decoded within {duration:.1f} s"
        if stopped_early:
            reason += f" (the check's deadline is {settings.deadline_s:.0f} s; reading stops {READ_TIMEOUT_S:g} s " \
                      "before it so that a stalled read ends in time)"
        if phase_reason:
            reason += f" ({phase_reason})"
        return Observation.failure(ErrorKind.NO_VIDEO, reason, duration, stream=facts)
    return Observation(ok=True, duration_s=duration, stream=facts, keyframes=keyframes, keyframe_times=key_times,
                       pframe_sizes=p_sizes, keyframe_sizes=key_sizes, snapshot=snapshot)


def decode_keyframe(video: av.video.stream.VideoStream, packet: av.Packet) -> np.ndarray | None:
    """One keyframe as a BGR picture at most SNAPSHOT_WIDTH wide, by a decoder of its own, freed at once.

    A check waits seconds for its next keyframe (or reads P-frames to judge the encoder); a decoder kept open
    meanwhile holds its picture buffers and tables: 1.2 MB at 640x360 for every check in flight, a quarter of
    the daemon's memory at 2,000 cameras (bench/README.md). The parameter sets come with the stream (the SDP's,
    as extradata) or in the keyframe's own packet, as cameras send them. Single-threaded; no deblocking filter:
    the picture is for an analysis at 320 px and a 640-px snapshot. Drained at once, so a stream with B-frames
    (a decoder that holds a frame back to reorder) gives its keyframe too."""
    ctx = av.CodecContext.create(video.codec_context.name, "r")
    if video.codec_context.extradata:
        ctx.extradata = video.codec_context.extradata
    ctx.thread_count = 1
    ctx.options = {"skip_loop_filter": "all"}
    for frame in itertools.chain(ctx.decode(packet), ctx.decode(None)):
        w = min(SNAPSHOT_WIDTH, frame.width)
        h = max(2, round(frame.height * w / frame.width / 2) * 2)
        return frame.reformat(width=w, height=h, format="bgr24").to_ndarray()
    return None


def frame_rate(frames: list[tuple[float, float | None]]) -> float | None:
    """Frames per second by their timestamps when these agree with the frames' arrival, else by the arrival
    (a camera's clock can lie: restarts, jumps, a wrong RTP clock rate). Pure."""
    if len(frames) < 2:
        return None
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(frames))
    span = frames[-1][0] - frames[0][0]
    # the median gap: the frames FFmpeg read while opening arrive in one burst
    by_arrival = (1 / gaps[len(gaps) // 2] if len(gaps) >= 4 and gaps[len(gaps) // 2] > 0
                  else (len(frames) - 1) / span if span > 0 else None)
    stamped = [p for _, p in frames if p is not None]
    steps = sorted(b - a for a, b in itertools.pairwise(stamped) if b > a)
    if steps and by_arrival:
        by_stamps = 1 / steps[len(steps) // 2]  # the median step: one jump is an outlier
        if abs(by_stamps - by_arrival) <= 0.25 * by_arrival:
            return by_stamps
    return by_arrival


def gop(key_frames: list[int], fps: float | None) -> float | None:
    """Seconds between keyframes: frames between them (the median) at the measured frame rate. Pure."""
    steps = sorted(b - a for a, b in itertools.pairwise(key_frames))
    return steps[len(steps) // 2] / fps if steps and fps else None


def timestamp_jump(frames: list[tuple[float, float | None]], tolerance_s: float = 1.0) -> float | None:
    """How far the timestamps jumped against the frames' arrival (a reboot, a clock reset), if they did. Pure."""
    jump = 0.0
    stamped = [(a, p) for a, p in frames if p is not None]
    for (a0, p0), (a1, p1) in itertools.pairwise(stamped):
        d = (p1 - p0) - (a1 - a0)
        if abs(d) > tolerance_s:
            jump += d
    return jump or None


def classify(err: av.error.FFmpegError, phase: str, elapsed: float, settings: CheckSettings,
             transport: str = "tcp") -> tuple[ErrorKind, str]:
    """Map a PyAV/FFmpeg error to our closed set, by its type, errno and the phase we were in."""
    msg = err.strerror or type(err).__name__
    if err.errno == errno.EPROTONOSUPPORT and phase == "connect":
        return ErrorKind.PROTOCOL, (f"the camera refuses RTSP over {transport.upper()} (461 Unsupported transport): "
                                    f"set transport = \"{'udp' if transport == 'tcp' else 'tcp'}\" or \"auto\"")
    if isinstance(err, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return ErrorKind.AUTH, f"the camera refused the user name or password ({msg})"
    if isinstance(err, av.error.HTTPNotFoundError):
        return ErrorKind.NOT_FOUND, f"the camera has no stream at this path ({msg})"
    if isinstance(err, av.error.ConnectionRefusedError) or err.errno == errno.ECONNREFUSED:
        return ErrorKind.UNREACHABLE, "connection refused: the address answers but nothing listens on the RTSP port"
    if err.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return ErrorKind.UNREACHABLE, f"the camera's address cannot be reached ({msg})"
    if err.errno == errno.ENOMEM:
        return ErrorKind.PROTOCOL, (f"the camera sent more than camwatch takes at once (FFmpeg's allocations are "
                                    f"capped at {MAX_ALLOC >> 20} MiB)")
    if err.errno in (errno.ENOENT,) or "resolve" in msg.lower() or "name or service" in msg.lower():
        return ErrorKind.UNREACHABLE, f"the camera's host name cannot be resolved ({msg})"
    timed_out = isinstance(err, av.error.TimeoutError | av.error.ExitError) or err.errno == errno.ETIMEDOUT
    if timed_out or elapsed >= min(settings.connect_timeout_s, settings.deadline_s) * 0.95:
        where = "to the connection" if phase == "connect" else "while waiting for video"
        return ErrorKind.TIMEOUT, f"no answer {where} within {elapsed:.1f} s"
    if isinstance(err, av.error.HTTPError | av.error.HTTPClientError | av.error.HTTPServerError):
        return ErrorKind.PROTOCOL, f"the camera answered with an RTSP error ({msg})"
    if isinstance(err, av.error.InvalidDataError):
        if phase == "read":
            return ErrorKind.DECODE, f"the video data is corrupt ({msg})"
        return ErrorKind.PROTOCOL, "the camera's answer is not valid RTSP"
    return ErrorKind.PROTOCOL, f"the RTSP exchange failed ({msg})"



def unexplained(err: av.error.FFmpegError, kind: ErrorKind) -> bool:
    """FFmpeg gave up without the camera's own answer (a status, a refusal): a timeout, invalid data, EOF."""
    if isinstance(err, av.error.HTTPError | av.error.HTTPClientError | av.error.HTTPServerError):
        return False
    return kind is ErrorKind.TIMEOUT or (kind is ErrorKind.PROTOCOL and err.errno != errno.EPROTONOSUPPORT)


def explain(kind: ErrorKind, reason: str, elapsed: float, peer: PeerReport) -> tuple[ErrorKind, str]:
    """FFmpeg's verdict with what the peer did when asked again. Pure."""
    if peer.unresolved:
        return ErrorKind.UNREACHABLE, "the camera's host name cannot be resolved (check the address and the DNS)"
    if peer.problem:
        return ErrorKind.PROTOCOL, peer.problem
    if peer.answered and kind is ErrorKind.TIMEOUT:
        return kind, f"the camera answers RTSP requests, but did not set up the stream within {elapsed:.1f} s"
    return kind, reason
