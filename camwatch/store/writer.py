"""One writer per SQLite database: `camwatch run` holds an exclusive lock on `DB.lock` for as long as it runs.

`flock` on a file beside the database, holding the holder's pid, node and start time. The kernel releases it
when the process ends, however it ends (kill -9 included), so a lock is never stale. PostgreSQL needs none:
several nodes share it with leases (`leases.py`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path


class WriterLocked(Exception):
    """Another `camwatch run` holds the database (or the lock cannot be taken): one line, exit 2."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def lock(url: str, node: str, now: dt.datetime) -> int | None:
    """Take the database's writer lock for this process (the returned descriptor stays open until exit)."""
    db = sqlite_path(url)
    if db is None:
        return None
    path = db.with_name(db.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise WriterLocked(f"cannot take the writer lock {path}: {err.strerror} (camwatch run writes beside "
                           "the database)") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read(fd)
        os.close(fd)
        raise WriterLocked(f"another camwatch run already writes {db}: pid {holder.get('pid', '?')}, node "
                           f"{holder.get('node', '?')}, since {holder.get('since', '?')}. SQLite is for one node: "
                           "stop that one first, or point every node at PostgreSQL (database_url) to run several") \
            from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "node": node, "since": now.isoformat(timespec="seconds")})
              .encode() + b"\n", 0)
    return fd


def _read(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
