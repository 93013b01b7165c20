"""HTTP snapshot probe: a cheaper picture source for cameras whose RTSP the server cannot use.

Two JPEGs, spaced in time (so that a frozen picture can be told from a live one), fetched with httpx
under one deadline, with digest or basic auth as the camera asks. Credentials are passed to httpx
apart from the URL and never appear in a reason.
"""

from __future__ import annotations

import time

import cv2
import httpx
import numpy as np

from camwatch.config.settings import CheckSettings
from camwatch.model import SNAPSHOT_WIDTH, ErrorKind, Observation, StreamFacts
from camwatch.probe import Enough, Target


class _Fail(Exception):
    def __init__(self, kind: ErrorKind, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def probe_snapshot(target: Target, settings: CheckSettings, enough: Enough | None = None) -> Observation:
    url, user, password = target.url, target.user, target.password
    t0 = time.monotonic()
    deadline = t0 + settings.deadline_s
    frames: list[np.ndarray] = []
    times: list[float] = []
    sizes: list[int] = []
    first_at: float | None = None
    try:
        with httpx.Client(follow_redirects=False, verify=False) as client:  # noqa: S501 - cameras use self-signed certs
            auth: httpx.Auth | None = httpx.DigestAuth(user, password or "") if user else None
            while len(frames) < settings.keyframes and not (frames and enough is not None and enough(frames, [])):
                if frames:
                    wait = settings.keyframe_spacing_s - (time.monotonic() - t0 - times[-1])
                    if time.monotonic() + max(0.0, wait) >= deadline:
                        break
                    time.sleep(max(0.0, wait))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Fail(ErrorKind.TIMEOUT, f"no snapshot within {settings.deadline_s:.0f} s")
                timeout = httpx.Timeout(remaining, connect=min(settings.connect_timeout_s, remaining))
                resp = client.get(url, auth=auth, timeout=timeout)
                if resp.status_code == 401 and user and "basic" in resp.headers.get("www-authenticate", "").lower():
                    auth = httpx.BasicAuth(user, password or "")
                    resp = client.get(url, auth=auth, timeout=timeout)
                img = _decode(resp)
                if first_at is None:
                    first_at = time.monotonic() - t0
                frames.append(img)
                times.append(time.monotonic() - t0)
                sizes.append(len(resp.content))
    except _Fail as f:
        return Observation.failure(f.kind, f.reason, time.monotonic() - t0)
    except httpx.ConnectTimeout:
        return Observation.failure(ErrorKind.TIMEOUT, "no answer to the connection", time.monotonic() - t0)
    except httpx.TimeoutException:
        return Observation.failure(ErrorKind.TIMEOUT, "the camera did not send its snapshot in time", time.monotonic() - t0)
    except httpx.ConnectError:
        return Observation.failure(ErrorKind.UNREACHABLE, "the camera's snapshot address cannot be reached",
                                   time.monotonic() - t0)
    except httpx.HTTPError as err:
        return Observation.failure(ErrorKind.PROTOCOL, f"the HTTP exchange failed ({type(err).__name__})",
                                   time.monotonic() - t0)
    h, w = frames[-1].shape[:2]
    facts = StreamFacts(codec="jpeg", width=w, height=h, time_to_first_frame_s=first_at)
    return Observation(ok=True, duration_s=time.monotonic() - t0, stream=facts, keyframes=frames, keyframe_times=times,
                       keyframe_sizes=sizes, snapshot=frames[-1])


def _decode(resp: httpx.Response) -> np.ndarray:
    if resp.status_code in (401, 403):
        raise _Fail(ErrorKind.AUTH, f"the camera refused the user name or password (HTTP {resp.status_code})")
    if resp.status_code == 404:
        raise _Fail(ErrorKind.NOT_FOUND, "the camera has no snapshot at this address (HTTP 404)")
    if resp.status_code != 200:
        raise _Fail(ErrorKind.PROTOCOL, f"the camera answered HTTP {resp.status_code}")
    img = cv2.imdecode(np.frombuffer(resp.content, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise _Fail(ErrorKind.DECODE, "the snapshot is not a valid image")
    if img.shape[1] > SNAPSHOT_WIDTH:
        img = cv2.resize(img, (SNAPSHOT_WIDTH, round(img.shape[0] * SNAPSHOT_WIDTH / img.shape[1])),
                         interpolation=cv2.INTER_AREA)
    return img
