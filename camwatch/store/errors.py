"""Database errors an operator reads as one line, never as a traceback: classified once, here.

An *operational* error — the server unreachable or restarting, the file read-only, full, locked, corrupt or
not a database — is a fact about the database, not a bug: the command line prints it in one line and exits 2,
and the daemon logs one WARNING when the database becomes unusable and one INFO when it is back
(`Outage`), whatever the number of checks in between. Anything else (an SQL mistake, a constraint) is a bug
and keeps its traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, NotSupportedError, ProgrammingError

log = logging.getLogger("camwatch.store")

BUGS = (IntegrityError, ProgrammingError, DataError, NotSupportedError)


def unavailable(err: BaseException) -> str | None:
    """Why the database cannot be used, in one line, for an operational error; None for a bug."""
    if not isinstance(err, DBAPIError) or isinstance(err, BUGS):
        return None
    text = str(err.orig if err.orig is not None else err).strip()
    line = next((s.strip() for s in text.splitlines() if s.strip()), type(err.orig).__name__)
    return line[:300]


def is_disk_full(err: BaseException) -> bool:
    """SQLite's SQLITE_FULL (PostgreSQL says `could not extend file`/`No space left on device`)."""
    line = unavailable(err) or ""
    return "disk is full" in line or "No space left" in line or "could not extend file" in line


class Outage:
    """The daemon's view of the database: one WARNING when it becomes unusable, one INFO when it is back."""

    def __init__(self) -> None:
        self._since: float | None = None
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, line: str) -> None:
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        log.warning("database unavailable: %s; checks are not stored until it is back (their time counts as "
                    "not monitored)", line)

    def ok(self) -> None:
        with self._lock:
            since, self._since = self._since, None
        if since is not None:
            log.info("database available again after %.0f s", time.monotonic() - since)

    def check_failed(self, err: Exception, camera_id: str) -> None:
        """A check that raised (call inside `except`): the outage's one line, or a bug's traceback."""
        line = unavailable(err)
        if line is None:
            log.exception("camera=%s check failed with a bug", camera_id)
        else:
            self.failed(line)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Around a background job's database work: an operational error is reported (once), not raised."""
        try:
            yield
        except DBAPIError as err:
            line = unavailable(err)
            if line is None:
                raise
            self.failed(line)  # (back again is told by the next check stored, the one write that matters)
