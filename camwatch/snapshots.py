"""Picture files: the latest, last good and first bad picture of each camera, and each incident's pair.

A full disk loses a picture, never a check: every write is atomic and its failure only logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camwatch.health import Event, State, Transition
from camwatch.model import CheckResult

log = logging.getLogger(__name__)

SNAPSHOT_MAX_BYTES = 300_000
REFRESH_S = 300.0  # the latest and last good pictures of a camera whose state does not change: at most this often
INCIDENT_SNAPSHOTS_KEPT = 40


def encode_jpeg(img: Any) -> bytes:
    """A JPEG small enough for an email to a phone."""
    import cv2

    quality = 85
    while True:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("cannot encode JPEG")
        if len(buf) <= SNAPSHOT_MAX_BYTES or quality <= 30:
            return bytes(buf.tobytes())
        quality -= 15


def jpeg_of(result: CheckResult) -> bytes | None:
    """The check's picture as a JPEG: encoded now if the check kept only the decoded image."""
    if result.jpeg is not None or result.picture is None:
        return result.jpeg
    return encode_jpeg(result.picture)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write a file so that a crash or a full disk never leaves half of it behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def safe_name(camera: str) -> str:
    """A file-system name for any camera label (an ad-hoc check's label is a masked URL)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", camera)[:64]


def save_check(result: CheckResult, directory: Path) -> Path | None:
    """`camwatch check`: the picture of this check as DIR/CAMERA/check.jpg."""
    jpeg = jpeg_of(result)
    if jpeg is None:
        return None
    try:
        return write_atomic(directory / safe_name(result.camera) / "check.jpg", jpeg)
    except OSError as err:
        log.error("camera=%s cannot save snapshot: %s", result.camera, err.strerror)
        return None


class SnapshotStore:
    """The daemon's pictures under `state/snapshots/CAMERA/`.

    The latest and last good pictures are rewritten when the camera's state changes, after a bad check, after
    pictures were suspended for want of space, and otherwise at most every `refresh_s` of check time (a healthy
    camera's picture a minute newer buys nothing, and encoding and writing it on every check costs more than
    judging it); a first bad picture and an incident's pair are always written."""

    def __init__(self, directory: Path, refresh_s: float = REFRESH_S) -> None:
        self.directory = directory
        self.refresh_s = refresh_s
        self._written: dict[tuple[str, str], dt.datetime] = {}  # (camera, picture) → the check it was taken by
        self._bad: set[str] = set()  # cameras whose last check was not ok

    def _due(self, result: CheckResult, name: str, changed: bool) -> bool:
        last = self._written.get((result.camera, name))
        return changed or last is None or (result.started_at - last).total_seconds() >= self.refresh_s

    def _write(self, result: CheckResult, path: Path, jpeg: bytes) -> str:
        write_atomic(path, jpeg)
        self._written[result.camera, path.stem] = result.started_at
        return str(path)

    def keep(self, result: CheckResult, state: State, transitions: Sequence[Transition],
             write: bool = True) -> dict[str, str]:
        """Keep the latest, last good and first bad picture; copy the pair aside when an incident opens.

        Returns what the check row and a new incident refer to (`last_good`, `latest`, `first_bad`,
        `last_good_at_open`). A picture is only ever kept under the name of what it is: a failing run that
        starts without a picture (offline) removes the previous run's first bad picture, so an old one is
        never attached as this incident's. `write=False` (no space: `storage.py`): nothing is written or copied,
        only that stale first bad picture removed."""
        d = self.directory / safe_name(result.camera)
        cam = result.camera
        out: dict[str, str] = {}
        has_picture = result.jpeg is not None or result.picture is not None
        jpeg: bytes | None = None
        after_bad = cam in self._bad
        if result.ok:
            self._bad.discard(cam)
        else:
            self._bad.add(cam)
        try:
            if not result.ok and state.fail_streak == 1:
                if has_picture and write:
                    jpeg = jpeg_of(result)
                    assert jpeg is not None
                    self._write(result, d / "first-bad.jpg", jpeg)
                else:
                    (d / "first-bad.jpg").unlink(missing_ok=True)
            if not write:
                for name in ("latest", "last-good"):  # once space is back, written at the next check
                    self._written.pop((cam, name), None)
                return out
            changed = bool(transitions) or after_bad or (not result.ok and state.fail_streak == 1)
            good_due, latest_due = result.ok and self._due(result, "last-good", changed), self._due(result, "latest", changed)
            if has_picture and (good_due or latest_due):
                jpeg = jpeg or jpeg_of(result)
                assert jpeg is not None
                if good_due:
                    out["last_good"] = self._write(result, d / "last-good.jpg", jpeg)
                if latest_due:
                    out["latest"] = self._write(result, d / "latest.jpg", jpeg)
            if any(t.event is Event.OPENED for t in transitions):
                stamp = result.started_at.strftime("%Y%m%dT%H%M%SZ")
                for name, key in (("first-bad", "first_bad"), ("last-good", "last_good_at_open")):
                    src = d / f"{name}.jpg"
                    if src.exists():
                        dst = d / f"incident-{stamp}-{name}.jpg"
                        shutil.copyfile(src, dst)
                        out[key] = str(dst)
                for f in sorted(d.glob("incident-*.jpg"))[:-INCIDENT_SNAPSHOTS_KEPT]:
                    f.unlink(missing_ok=True)
        except OSError as err:  # a full disk loses the picture, never the check
            log.error("camera=%s cannot write snapshot: %s", result.camera, err.strerror)
        return out
