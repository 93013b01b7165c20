"""What the pages show, gathered once per request: the fleet's current state (two queries), the communes'
counts and the kept availability figures; one camera's facts, checks, incidents and maintenance.

The config says which cameras exist (retired ones are gone), the database what they do; no secret is read
here (no URL, no password, no error text from a device).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from camwatch.config import Config, ResolvedCamera
from camwatch.profile import StreamProfile
from camwatch.snapshots import safe_name
from camwatch.store import web_queries
from camwatch.web.availability import Availability, Sums

SEVERITY = ("down", "degraded", "maintenance", "unknown", "ok")  # worst first
PICTURES = ("latest", "last-good", "first-bad")
PERIODS = (1, 7, 30)  # today, 7 d, 30 d (local calendar days, today included)


@dataclass(frozen=True)
class Tile:
    """One camera as the wall and the JSON show it."""

    id: str
    name: str
    commune: str
    commune_name: str
    location: str
    status: str
    since: dt.datetime | None
    last_check: dt.datetime | None
    verdict: str | None
    incident: str | None  # the open incident's kind
    acknowledged: bool | None  # the open incident's acknowledgement (None: no open incident)
    picture: str | None  # which picture shows it: "latest", or "last-good" for a camera that is down
    version: str  # changes when the picture does (cache busting)


@dataclass
class CommuneRow:
    id: str
    name: str
    cameras: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITY, 0))
    availability: dict[int, float | None] = field(default_factory=dict)

    @property
    def badness(self) -> tuple[float, float, float, float]:
        """Worst first: the share of cameras down, then degraded, then the lowest availability today, then 7 d."""
        n = max(self.cameras, 1)
        a1, a7 = self.availability.get(1), self.availability.get(7)
        return (-self.counts["down"] / n, -self.counts["degraded"] / n, a1 if a1 is not None else 2.0,
                a7 if a7 is not None else 2.0)


@dataclass(frozen=True)
class Fleet:
    tiles: list[Tile]
    counts: dict[str, int]
    communes: list[CommuneRow]
    availability: dict[int, float | None]
    now: dt.datetime
    computed: bool = True  # False until the availability figures' first refresh (a daemon just started)


def snapshot_dir(config: Config) -> Path:
    return config.state_dir / "snapshots"


def picture_path(config: Config, camera_id: str, kind: str) -> Path:
    """The file of a camera's picture: from the camera id (a configured one) and a fixed kind, never a request path."""
    if kind not in PICTURES:
        raise ValueError(kind)
    return snapshot_dir(config) / safe_name(camera_id) / f"{kind}.jpg"


def _picture(config: Config, camera_id: str, status: str) -> tuple[str | None, str]:
    kinds = ("last-good", "latest") if status == "down" else ("latest", "last-good")
    for kind in kinds:
        try:
            st = picture_path(config, camera_id, kind).stat()
        except OSError:
            continue
        return kind, f"{st.st_mtime_ns:x}"
    return None, "0"


def fleet(config: Config, engine: Engine, availability: Availability, now: dt.datetime) -> Fleet:
    from camwatch.words import sort_key

    with engine.connect() as conn:
        rows, open_inc = web_queries.fleet(conn)
    names = {c.id: c.name for c in config.file.communes}
    tiles = []
    for cam in config.cameras.values():
        r, inc = rows.get(cam.id), open_inc.get(cam.id)
        status = r.status if r is not None else "unknown"
        picture, version = _picture(config, cam.id, status)
        tiles.append(Tile(cam.id, cam.cfg.name, cam.cfg.commune, names.get(cam.cfg.commune, cam.cfg.commune),
                          cam.cfg.location, status, _since(r, inc, status),
                          r.last_check_at if r is not None else None, r.last_verdict if r is not None else None,
                          inc.kind if inc is not None else None, bool(inc.acknowledged) if inc is not None else None,
                          picture, version))
    tiles.sort(key=lambda t: (SEVERITY.index(t.status) if t.status in SEVERITY else 3, sort_key(t.commune_name), t.id))
    counts = dict.fromkeys(SEVERITY, 0)
    communes = {c.id: CommuneRow(c.id, c.name) for c in config.file.communes}
    members: dict[str, list[str]] = {}
    for t in tiles:
        counts[t.status] = counts.get(t.status, 0) + 1
        row = communes.setdefault(t.commune, CommuneRow(t.commune, t.commune_name))
        row.cameras += 1
        row.counts[t.status] = row.counts.get(t.status, 0) + 1
        members.setdefault(t.commune, []).append(t.id)
    for row in communes.values():
        row.availability = {n: _ratio(availability.sums(members.get(row.id, []), n)) for n in PERIODS}
    district = {n: _ratio(availability.sums(config.cameras, n)) for n in PERIODS}
    ordered = sorted((c for c in communes.values() if c.cameras), key=lambda c: (c.badness, sort_key(c.name)))
    return Fleet(tiles, counts, ordered, district, now, availability.refreshed_at is not None)


def _since(row: Any | None, incident: Any | None, status: str) -> dt.datetime | None:
    """Since when: a camera with an open incident since its first failing check (the incident's start), else
    since its status changed."""
    if incident is not None and status in ("down", "degraded"):
        return incident.started_at  # type: ignore[no-any-return]
    return row.status_since if row is not None else None


def _ratio(s: Sums | None) -> float | None:
    return s.availability if s is not None else None


@dataclass(frozen=True)
class CameraPage:
    cam: ResolvedCamera
    commune_name: str
    row: Any | None  # the cameras row (None: never synced)
    profile: StreamProfile | None
    checks: list[Any]
    incidents: list[Any]
    maintenance: list[Any]  # stored windows (the command line)
    planned: list[tuple[str, str]]  # the config's windows: ("daily" | "once", span), with their reason after
    days: list[tuple[dt.date, Any]]  # (local day, Breakdown | None), oldest first
    sums: dict[int, float | None]
    pictures: dict[str, str]  # kind → version, for the pictures that exist


CHECKS_SHOWN = 20
INCIDENTS_SHOWN = 20


def camera_page(config: Config, engine: Engine, availability: Availability, cam: ResolvedCamera,
                now: dt.datetime) -> CameraPage:
    if not availability.has(cam.id):  # not computed yet (a camera just added): this one now
        availability.refresh([cam.id])
    with engine.connect() as conn:
        row = web_queries.camera(conn, cam.id)
        checks = web_queries.last_checks(conn, cam.id, CHECKS_SHOWN)
        incidents = web_queries.camera_incidents(conn, cam.id, INCIDENTS_SHOWN)
        maint = web_queries.camera_maintenance(conn, cam.id, cam.cfg.commune, now - dt.timedelta(days=30))
    planned = [_planned(m) for m in config.file.maintenance if m.camera == cam.id or m.commune == cam.cfg.commune]
    pictures = {}
    for kind in PICTURES:
        try:
            pictures[kind] = f"{picture_path(config, cam.id, kind).stat().st_mtime_ns:x}"
        except OSError:
            pass
    names = {c.id: c.name for c in config.file.communes}
    return CameraPage(cam, names.get(cam.cfg.commune, cam.cfg.commune), row,
                      StreamProfile.from_json(row.profile) if row is not None else None, checks, incidents, maint,
                      planned, availability.days(cam.id), {n: _ratio(availability.sums([cam.id], n)) for n in PERIODS},
                      pictures)


def _planned(m: Any) -> tuple[str, str]:
    span = m.daily if m.daily else f"{m.start:%d/%m/%Y %H:%M} – {m.end:%d/%m/%Y %H:%M}"
    return ("daily" if m.daily else "once", f"{span} ({m.reason})" if m.reason else span)
