"""The state directory's space: pictures give way first, the database keeps a reserve, the condition is told.

The state directory holds the database and the pictures. Full, SQLite stores no check ("database or disk is
full"), so, measured every few seconds (`StorageGuard.tick`) and before every check's pictures:

- below `[storage] pictures_min_free_mb` free, the oldest incident pictures are removed (each camera keeps
  its newest incident's pair); if that is not enough, no picture is written — checks and incidents go on
  being stored, without pictures — until the free space is back above the threshold and a margin;
- `reserve_mb` is held by a file, `STATE/camwatch.reserve`, for the database: removed when less than that is
  free (or when a write fails for want of space), so checks and incidents still have room, and the
  write-ahead log is checkpointed and truncated; written again when the space is back. Pictures wait until
  it is held again: they never eat the database's reserve;
- the condition is a WARNING on its edge (never per check), `camwatch_pictures_suspended`,
  `camwatch_state_free_bytes` and `camwatch_storage_reserve_bytes`, the `CamwatchStateDiskLow` alert, and
  one email to the district team (`[alerts] escalation`) per episode (the daemon's `_storage` job).

`decide` and `prunable` are pure; `StorageGuard` does the file-system work.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from camwatch.config.settings import StorageSettings
from camwatch.metrics import Metrics
from camwatch.snapshots import SNAPSHOT_MAX_BYTES

log = logging.getLogger(__name__)

MB = 1 << 20
RESERVE_NAME = "camwatch.reserve"
INCIDENT_PICTURE = re.compile(r"incident-(\d{8}T\d{6}Z)-(first-bad|last-good)\.jpg")


@dataclass(frozen=True)
class Policy:
    min_free: int  # bytes: below this, no picture
    reserve: int  # bytes held for the database (0: none)

    @property
    def resume_at(self) -> int:
        """Pictures start again above this (a margin, so that they do not stop and start at every check)."""
        return self.min_free + max(self.min_free // 10, 4 * SNAPSHOT_MAX_BYTES)

    @classmethod
    def of(cls, s: StorageSettings) -> Policy:
        return cls(int(s.pictures_min_free_mb * MB), int(s.reserve_mb * MB))


@dataclass(frozen=True)
class Space:
    pictures: bool  # pictures are written
    reserve: bool  # the reserve file is held


def decide(free: int, now: Space, p: Policy) -> Space:
    """What to hold with `free` bytes available (the reserve file, when held, is not free). Pure."""
    reserve = now.reserve and p.reserve > 0
    if reserve and free < p.reserve:  # the disk is filling: the reserve's space goes to the database
        reserve, free = False, free + p.reserve
    elif not reserve and p.reserve and free >= p.reserve + p.resume_at:
        reserve, free = True, free - p.reserve
    if p.reserve and not reserve:
        return Space(pictures=False, reserve=False)
    return Space(pictures=free >= (p.min_free if now.pictures else p.resume_at), reserve=reserve)


def prunable(pictures: Iterable[tuple[str, str, int]], need: int) -> list[tuple[str, str]]:
    """Incident pictures (camera, file name, size) to remove to free `need` bytes: oldest first, each camera
    keeping its newest incident's pair. Pure."""
    stamps: dict[str, set[str]] = defaultdict(set)
    files = []
    for camera, name, size in pictures:
        m = INCIDENT_PICTURE.fullmatch(name)
        if m:
            stamps[camera].add(m.group(1))
            files.append((m.group(1), camera, name, size))
    newest = {camera: max(s) for camera, s in stamps.items()}
    out, freed = [], 0
    for stamp, camera, name, size in sorted(files):
        if freed >= need:
            break
        if stamp != newest[camera]:
            out.append((camera, name))
            freed += size
    return out


def disk_free(path: Path) -> int:
    """Bytes available to camwatch on the disk of `path` (what an unprivileged writer may still use)."""
    return shutil.disk_usage(path).free


class StorageGuard:
    """The state directory's space, for the daemon; `tick()` from one thread, `pictures_allowed()` from any."""

    def __init__(self, state_dir: Path, settings: StorageSettings, metrics: Metrics, database_here: bool = True,
                 free: Callable[[Path], int] = disk_free) -> None:
        """`database_here`: the database is a file in `state_dir` (SQLite's default); else no reserve is held."""
        self.root = state_dir
        self.reserve_file = state_dir / RESERVE_NAME
        p = Policy.of(settings)
        self.policy = p if database_here else Policy(p.min_free, 0)
        self.metrics = metrics
        self._free = free
        self._lock = threading.Lock()
        held = self.policy.reserve > 0 and self.reserve_file.exists() \
            and self.reserve_file.stat().st_size >= self.policy.reserve
        self.space = Space(pictures=True, reserve=held)
        self._low = False  # the low-space episode has been told (its WARNING and email)
        self._show(None)

    def free(self) -> int:
        try:
            return self._free(self.root)
        except OSError:
            return 0

    def pictures_allowed(self) -> bool:
        """Before a check writes pictures: the last decision, and the space now (a disk fills between ticks)."""
        return self.space.pictures and self.free() >= self.policy.min_free

    def tick(self, checkpoint: Callable[[], None] = lambda: None) -> str | None:
        """Measure, prune, release or write the reserve. Returns "low" or "back" on an edge, else None."""
        with self._lock:
            with suppress(OSError):  # (a PostgreSQL deployment's state directory holds the pictures only)
                self.root.mkdir(parents=True, exist_ok=True)
            free = self.free()
            if free < (self.policy.resume_at if not self.space.pictures else self.policy.min_free):
                self._prune(self.policy.resume_at - free)
                free = self.free()
            was, new = self.space, decide(free, self.space, self.policy)
            if was.reserve and not new.reserve:
                self._release(free, checkpoint)
            elif new.reserve and not was.reserve and not self._hold():
                new = Space(pictures=False, reserve=False)
            self.space = new
            self._show(self.free())
            edge = None
            if new.pictures == self._low:  # an edge: low space begins, or ends
                edge, self._low = ("back", False) if new.pictures else ("low", True)
        if edge == "low":
            why = f"below [storage] pictures_min_free_mb = {self.policy.min_free / MB:g}" \
                if free < self.policy.min_free else f"too little to hold the database's reserve ({self.policy.reserve / MB:g} MB)"
            log.warning("state directory %s: %.1f MB free, %s: no more pictures; checks and incidents go on being "
                        "stored", self.root, free / MB, why)
        elif edge == "back":
            log.info("state directory %s: %.1f MB free again: pictures resume", self.root, self.free() / MB)
        return edge

    def release(self, checkpoint: Callable[[], None] = lambda: None) -> bool:
        """A write failed for want of space: give the reserve to the database now. False: there was none."""
        with self._lock:
            if not self.space.reserve:
                return False
            self._release(self.free(), checkpoint)
            self.space = Space(pictures=False, reserve=False)
            self._show(self.free())
        return True

    def _release(self, free: int, checkpoint: Callable[[], None]) -> None:
        self.reserve_file.unlink(missing_ok=True)
        log.warning("state directory %s: %.1f MB free: the database's reserve (%g MB) is released for checks and "
                    "incidents", self.root, free / MB, self.policy.reserve / MB)
        checkpoint()

    def _hold(self) -> bool:
        """Write the reserve file (its blocks allocated); False when the disk cannot hold it."""
        tmp = self.reserve_file.with_suffix(".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.policy.reserve)
            finally:
                os.close(fd)
            os.replace(tmp, self.reserve_file)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            log.debug("cannot hold the reserve %s: %s", self.reserve_file, err.strerror)
            return False
        log.info("state directory %s: the database's reserve (%g MB) is held", self.root, self.policy.reserve / MB)
        return True

    def close(self) -> None:
        """A clean stop: the reserve is given back (the next start holds it again)."""
        with self._lock:
            self.reserve_file.unlink(missing_ok=True)
            self.space = Space(pictures=self.space.pictures, reserve=False)

    def _prune(self, need: int) -> None:
        folder = self.root / "snapshots"
        found = []
        for f in folder.glob("*/incident-*.jpg"):
            with suppress(OSError):  # removed meanwhile
                found.append((f.parent.name, f.name, f.stat().st_size))
        gone = prunable(found, need)
        for camera, name in gone:
            with suppress(OSError):
                (folder / camera / name).unlink()
        if gone:
            log.warning("state directory %s: removed the %d oldest incident pictures to make room", self.root, len(gone))

    def _show(self, free: int | None) -> None:
        m = self.metrics
        m.state_free.set(self.free() if free is None else free)
        m.pictures_suspended.set(0 if self.space.pictures else 1)
        m.storage_reserve.set(self.policy.reserve if self.space.reserve else 0)
