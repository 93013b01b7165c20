"""RTSP probe: PyAV (FFmpeg) opens the stream, reads packets, decodes keyframes only.

Every step is bounded: a socket timeout for the TCP connection, PyAV's interrupt-callback timeouts
for opening and for each read (shrunk to what is left of the overall deadline), and a check of the
deadline after every packet. The session is closed (RTSP TEARDOWN) as soon as we have what we need.
"""

from __future__ import annotations

import errno
import logging
import time

import av
import av.error
import numpy as np

from camwatch.config.settings import CheckSettings
from camwatch.model import SNAPSHOT_WIDTH, ErrorKind, Observation, StreamFacts
from camwatch.probe import Target
from camwatch.urls import with_credentials

log = logging.getLogger(__name__)

# PyAV fixes its per-read timeout at open; we stop starting reads that long before the deadline,
# so that no read can outlive it.
READ_TIMEOUT_S = 2.0


def probe_rtsp(target: Target, settings: CheckSettings) -> Observation:
    """Open the stream, collect `settings.keyframes` keyframes spaced in time, and close.

    The credentials are URL-encoded into the address here; they never leave this function.
    """
    url = with_credentials(target.url, target.user, target.password)
    t0 = time.monotonic()
    deadline = t0 + settings.deadline_s
    phase = "connect"
    container = None
    try:
        open_timeout = min(settings.connect_timeout_s * 2, settings.deadline_s)
        options = {
            "rtsp_transport": settings.transport,
            "timeout": str(int(settings.connect_timeout_s * 1_000_000)),  # socket I/O, µs
            "analyzeduration": "200000",  # µs: don't read ~28 frames before returning
            "probesize": "65536",
            "allowed_media_types": "video",
        }
        container = av.open(url, options=options, timeout=(open_timeout, READ_TIMEOUT_S))
        phase = "stream"
        video = next((s for s in container.streams if s.type == "video"), None)
        if video is None:
            return Observation.failure(ErrorKind.NO_VIDEO, "the stream carries no video track", time.monotonic() - t0)
        ctx = video.codec_context
        ctx.thread_count = 1
        return _read(container, video, settings, t0, deadline)
    except av.error.FFmpegError as err:
        kind, reason = classify(err, phase, time.monotonic() - t0, settings)
        # FFmpeg's exception carries the URL with its password: keep only its type and message
        return Observation.failure(kind, reason, time.monotonic() - t0, detail=f"{type(err).__name__}: {err.strerror}")
    finally:
        if container is not None:
            try:
                container.close()  # sends TEARDOWN
            except av.error.FFmpegError as err:  # a camera that dies during TEARDOWN is no news
                log.debug("close failed: %s", err.strerror)


def _read(container: av.container.InputContainer, video: av.video.stream.VideoStream,
          settings: CheckSettings, t0: float, deadline: float) -> Observation:
    tb = float(video.time_base) if video.time_base else 1 / 90000
    keyframes: list[np.ndarray] = []
    key_times: list[float] = []
    key_sizes: list[int] = []
    p_sizes: list[int] = []
    pts_all: list[float] = []
    bytes_total = 0
    first_frame_at: float | None = None
    snapshot: np.ndarray | None = None
    phase_reason = ""
    try:
        for packet in container.demux(video):
            if time.monotonic() >= deadline - READ_TIMEOUT_S:
                break
            if packet.size == 0:
                continue
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:  # FFmpeg gives the first RTSP packet no timestamp
                t = pts_all[-1] if pts_all else 0.0
            else:
                t = stamp * tb
                pts_all.append(t)
            bytes_total += packet.size
            if not packet.is_keyframe:
                p_sizes.append(packet.size)
                continue
            if key_times and t - key_times[-1] < settings.keyframe_spacing_s:
                key_sizes.append(packet.size)
                continue
            for frame in video.codec_context.decode(packet):
                w = min(SNAPSHOT_WIDTH, frame.width)
                h = max(2, round(frame.height * w / frame.width / 2) * 2)
                img = frame.reformat(width=w, height=h, format="bgr24").to_ndarray()
                if first_frame_at is None:
                    first_frame_at = time.monotonic() - t0
                snapshot = img
                keyframes.append(img)
                key_times.append(t)
                key_sizes.append(packet.size)
                break
            if len(keyframes) >= settings.keyframes:
                break
    except av.error.FFmpegError as err:
        phase_reason = err.strerror or type(err).__name__
        if not keyframes:
            kind, reason = classify(err, "read", time.monotonic() - t0, settings)
            return Observation.failure(kind, reason, time.monotonic() - t0)
    duration = time.monotonic() - t0
    ctx = video.codec_context
    facts = StreamFacts(
        codec=ctx.name,
        width=ctx.width or None,
        height=ctx.height or None,
        fps=_fps(pts_all),
        bitrate_bps=bytes_total * 8 / (pts_all[-1] - pts_all[0]) if len(pts_all) > 1 and pts_all[-1] > pts_all[0] else None,
        time_to_first_frame_s=first_frame_at,
        gop_s=key_times[1] - key_times[0] if len(key_times) > 1 else None,
    )
    if not keyframes:
        waited = f"{duration:.1f} s"
        if not pts_all:
            reason = f"connected, but no video arrived within {waited}"
        else:
            reason = f"video packets arrived but no keyframe could be decoded within {waited}"
        if phase_reason:
            reason += f" ({phase_reason})"
        return Observation.failure(ErrorKind.NO_VIDEO, reason, duration, stream=facts)
    return Observation(ok=True, duration_s=duration, stream=facts, keyframes=keyframes, keyframe_times=key_times,
                       pframe_sizes=p_sizes, keyframe_sizes=key_sizes, snapshot=snapshot)


def _fps(pts: list[float]) -> float | None:
    if len(pts) < 3:
        return None
    ordered = sorted(pts)
    span = ordered[-1] - ordered[0]
    return (len(ordered) - 1) / span if span > 0 else None


def classify(err: av.error.FFmpegError, phase: str, elapsed: float, settings: CheckSettings) -> tuple[ErrorKind, str]:
    """Map a PyAV/FFmpeg error to our closed set, by its type, errno and the phase we were in."""
    msg = err.strerror or type(err).__name__
    if isinstance(err, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return ErrorKind.AUTH, f"the camera refused the user name or password ({msg})"
    if isinstance(err, av.error.HTTPNotFoundError):
        return ErrorKind.NOT_FOUND, f"the camera has no stream at this path ({msg})"
    if isinstance(err, av.error.ConnectionRefusedError) or err.errno == errno.ECONNREFUSED:
        return ErrorKind.UNREACHABLE, "connection refused: the address answers but nothing listens on the RTSP port"
    if err.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return ErrorKind.UNREACHABLE, f"the camera's address cannot be reached ({msg})"
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

