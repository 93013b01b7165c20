"""Pictures for the pages, found from what the daemon wrote, never from a path in a request or the database:
a configured camera's id and a fixed kind (`snapshots/CAMERA/latest.jpg`), or an incident's stored file *name*
(checked against the daemon's naming) in that camera's folder, which also survives a moved state folder."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from camwatch.config import Config
from camwatch.snapshots import safe_name
from camwatch.store import web_queries
from camwatch.web.data import PICTURES, picture_path, snapshot_dir
from camwatch.web.http import Response

log = logging.getLogger(__name__)

INCIDENT_PICTURE = re.compile(r"incident-[0-9]{8}T[0-9]{6}Z-(?:first-bad|last-good)\.jpg")  # snapshots.SnapshotStore
NOT_FOUND = ("404 Not Found", b"not found\n")


def camera_picture(environ: dict[str, Any], config: Config, cam: str, kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    if cam not in config.cameras or kind not in PICTURES:
        raise Response(*NOT_FOUND)
    return jpeg(environ, picture_path(config, cam, kind))


def incident_picture(environ: dict[str, Any], config: Config, engine: Engine, n: int,
                     kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    with engine.connect() as conn:
        row = web_queries.incident_pictures(conn, n)
    stored = None if row is None else (row.first_bad_snapshot if kind == "first-bad" else row.last_good_snapshot)
    if not stored:
        raise Response(*NOT_FOUND)
    name = Path(stored).name
    if not INCIDENT_PICTURE.fullmatch(name):
        log.warning("web: incident %s picture %r refused: not an incident picture's name", n, name)
        raise Response(*NOT_FOUND)
    return jpeg(environ, snapshot_dir(config) / safe_name(row.camera_id) / name)


def jpeg(environ: dict[str, Any], path: Path) -> tuple[str, list[tuple[str, str]], bytes]:
    """A picture with an ETag (a wall polls often; an unchanged picture costs a 304)."""
    try:
        st = path.stat()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        headers = [("Content-Type", "image/jpeg"), ("Cache-Control", "private, no-cache"), ("ETag", etag)]
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            return "304 Not Modified", headers, b""
        return "200 OK", headers, path.read_bytes()
    except OSError:
        raise Response(*NOT_FOUND) from None
