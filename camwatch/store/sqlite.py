"""SQLite's file-level care: a read-only copy opened for reading, the write-ahead log kept small."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine

WAL_LIMIT_BYTES = 4 << 20


def read_only(path: str) -> Callable[[], sqlite3.Connection] | None:
    """A connection factory for a SQLite file this process cannot write, or None (the file is writable or
    missing). Without its `-shm` file (no writer has it open) and on a read-only disk, SQLite opens a WAL
    database only as immutable."""
    db = Path(path)
    if path in ("", ":memory:") or not db.exists() or (os.access(db, os.W_OK) and os.access(db.parent, os.W_OK)):
        return None
    shm = Path(f"{path}-shm")
    uri = f"file:{quote(str(db.resolve()))}?mode=ro" + ("" if shm.exists() else "&immutable=1")
    return lambda: sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database and truncate it (its space back, when the disk fills)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
