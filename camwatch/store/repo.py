"""The few queries camwatch needs. One transaction per check; SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, create_engine, event, func, insert, make_url, or_, select, text, update

from camwatch.health import Event, State, Transition
from camwatch.model import CheckResult
from camwatch.store import sqlite
from camwatch.store.schema import (
    cameras,
    checks,
    device_events,
    incidents,
    maintenance,
    nodes,
    notifications,
    runs,
)
from camwatch.uptime import Interval
from camwatch.urls import strip_credentials

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def display_url(url: str) -> str:
    """The database's address as the logs and errors show it: never its password."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, create: bool = True) -> Engine:
    """An engine for `url`; `create=False`: never create the SQLite file's folder (read-only commands), and a
    file this process cannot write is opened read-only (a copy on a read-only disk can still be read)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if create and path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        creator = None if create else sqlite.read_only(path)
        engine = create_engine(url, connect_args={"timeout": 30}, **({"creator": creator} if creator else {}))

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # no journal_mode here: WAL is set once, when the database is created or migrated (`upgrade`),
            # and it stays; setting it at every connect is a write, which a read-only copy refuses
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA journal_size_limit={sqlite.WAL_LIMIT_BYTES}")  # the WAL shrinks back after a checkpoint
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         connect_args={"connect_timeout": 10} if url.startswith("postgresql") else {})


def exclusive(conn: Connection, key: int) -> None:
    """Serialise a job across nodes for the rest of this transaction (PostgreSQL advisory lock; SQLite
    serialises writers anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


LOCK_ROUTING, LOCK_ROLLUP, LOCK_REPORT, LOCK_SYNC = 7_501, 7_502, 7_503, 7_504


def _alembic(url: str) -> Any:
    from alembic.config import Config as AlembicConfig

    if not (MIGRATIONS / "env.py").exists():
        raise RuntimeError(f"Alembic migrations not found at {MIGRATIONS}")
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = make_engine(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the database with Alembic."""
    from alembic import command

    cfg = _alembic(url)
    engine = cfg.attributes["engine"]
    try:
        command.upgrade(cfg, revision)
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:  # persistent: set once, here, for every later connection
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    cfg = _alembic(url)
    try:
        command.downgrade(cfg, revision)
    finally:
        cfg.attributes["engine"].dispose()


def head_revision() -> str:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# ---------------------------------------------------------------- cameras

def sync_cameras(conn: Connection, configured: Iterable[dict[str, str]], now: dt.datetime) -> None:
    """Mirror the config: add new cameras, update names, retire those gone (their history stays)."""
    wanted = {c["id"]: c for c in configured}
    exclusive(conn, LOCK_SYNC)  # several nodes starting at once: one syncs, the others then see its rows
    existing = {r.id: r for r in conn.execute(select(cameras.c.id, cameras.c.retired_at))}
    for cid, c in wanted.items():
        fields = {"commune": c["commune"], "name": c["name"], "location": c.get("location", "")}
        if cid in existing:
            conn.execute(update(cameras).where(cameras.c.id == cid).values(**fields, retired_at=None))
        else:
            conn.execute(insert(cameras).values(id=cid, added_at=now, status="unknown", state={}, **fields))
    gone = [cid for cid, r in existing.items() if cid not in wanted and r.retired_at is None]
    if gone:
        conn.execute(update(cameras).where(cameras.c.id.in_(gone)).values(retired_at=now))


def load_camera(conn: Connection, camera_id: str) -> tuple[State, bytes | None]:
    """The camera's state and its stored baseline (serialised by `analysis.Baseline.to_bytes`)."""
    row = conn.execute(select(cameras.c.state, cameras.c.baseline).where(cameras.c.id == camera_id)).first()
    if row is None:
        return State(), None
    return State.from_json(row.state), row.baseline or None


def load_profile(conn: Connection, camera_id: str) -> dict[str, Any] | None:
    """The camera's learned stream profile (`profile.StreamProfile.to_json`)."""
    return conn.execute(select(cameras.c.profile).where(cameras.c.id == camera_id)).scalar()


def save_profile(conn: Connection, camera_id: str, profile: Mapping[str, Any] | None) -> None:
    conn.execute(update(cameras).where(cameras.c.id == camera_id).values(profile=dict(profile) if profile else None))


def save_baseline(conn: Connection, camera_id: str, baseline: bytes | None, now: dt.datetime) -> None:
    conn.execute(update(cameras).where(cameras.c.id == camera_id).values(
        baseline=baseline, baseline_updated_at=now if baseline else None))


def ensure_camera(conn: Connection, camera_id: str, commune: str, name: str, now: dt.datetime) -> None:
    if conn.execute(select(cameras.c.id).where(cameras.c.id == camera_id)).first() is None:
        conn.execute(insert(cameras).values(id=camera_id, commune=commune, name=name, location="", added_at=now,
                                            status="unknown", state={}))


def record_onvif(conn: Connection, camera_id: str, r: Any, now: dt.datetime) -> list[tuple[str, str | None, str]]:
    """Store an ONVIF poll; returns the device changes (field, old, new) it found, also stored as events."""
    values: dict[str, Any] = {"onvif_checked_at": now, "onvif_error": None if r.ok else f"{r.error}: {r.reason}"}
    changes: list[tuple[str, str | None, str]] = []
    if r.ok:
        old = conn.execute(select(cameras.c.model, cameras.c.firmware, cameras.c.serial, cameras.c.manufacturer)
                           .where(cameras.c.id == camera_id)).first()
        d = r.device
        new = {"manufacturer": d.manufacturer, "model": d.model, "firmware": d.firmware, "serial": d.serial}
        for k, v in new.items():
            prev = getattr(old, k) if old is not None else None
            if prev is not None and prev != v:
                changes.append((k, prev, v))
                conn.execute(insert(device_events).values(camera_id=camera_id, at=now, field=k, old=prev, new=v))
        values.update(new, hardware_id=d.hardware_id, clock_offset_s=r.clock_offset_s, clock_ntp=r.ntp)
        if r.stream is not None:
            values["stream_uri"] = strip_credentials(r.stream.rtsp_uri)
    conn.execute(update(cameras).where(cameras.c.id == camera_id).values(**values))
    return changes


# ---------------------------------------------------------------- one check

def record_check(conn: Connection, result: CheckResult, interval_s: float, state: State,
                 transitions: Sequence[Transition], baseline: bytes | None, node: str,
                 snapshots: Mapping[str, str | None], profile: Mapping[str, Any] | None = None) -> list[int]:
    """Write one check, the camera's state, incident changes and outbox rows; returns new incident ids.

    Call inside one transaction (`engine.begin()`): all of it is stored or none.
    """
    n = result.numbers
    conn.execute(insert(checks).values(
        camera_id=result.camera, started_at=result.started_at, interval_s=interval_s, duration_s=result.duration_s,
        verdict=str(result.verdict), status=str(state.status), error_kind=str(result.error) if result.error else None,
        reason=result.reason, luma=n.get("luma"), sharpness_ratio=n.get("sharpness_ratio"), motion=n.get("motion"),
        fps=result.stream.fps, bitrate_bps=result.stream.bitrate_bps,
        time_to_first_frame_s=result.stream.time_to_first_frame_s, clock_offset_s=n.get("clock_offset_s"),
        numbers=_finite(n), node=node,
    ))
    values: dict[str, Any] = {
        "status": str(state.status), "status_since": state.since, "state": state.to_json(),
        "last_check_at": result.started_at, "last_verdict": str(result.verdict), "last_reason": result.reason,
    }
    if result.stream.width:
        values.update(width=result.stream.width, height=result.stream.height)
    if snapshots.get("last_good"):
        values.update(last_good_snapshot=snapshots["last_good"], last_good_at=result.started_at)
    if snapshots.get("latest"):
        values.update(latest_snapshot=snapshots["latest"], latest_snapshot_at=result.started_at)
    if baseline is not None:
        values.update(baseline=baseline, baseline_updated_at=result.started_at)
    if profile is not None:
        values["profile"] = dict(profile)
    conn.execute(update(cameras).where(cameras.c.id == result.camera).values(**values))

    opened: list[int] = []
    open_id = conn.execute(select(incidents.c.id).where(
        incidents.c.camera_id == result.camera, incidents.c.closed_at.is_(None))).scalar()
    for t in transitions:
        if t.event is Event.CLOSED and open_id is not None:
            conn.execute(update(incidents).where(incidents.c.id == open_id).values(closed_at=t.closed_at))
            _outbox(conn, t, open_id, result.camera, state.flapping)
            open_id = None
        elif t.event is Event.OPENED and t.incident is not None:
            good = snapshots.get("last_good_at_open")
            good_at = conn.execute(select(cameras.c.last_good_at).where(cameras.c.id == result.camera)).scalar() \
                if good else None
            open_id = conn.execute(insert(incidents).values(
                camera_id=result.camera, kind=str(t.incident.kind), severity=str(t.incident.severity),
                started_at=t.incident.started_at, opened_at=t.incident.opened_at, last_seen_at=result.started_at,
                reason=result.reason, evidence=_finite(n), first_bad_snapshot=snapshots.get("first_bad"),
                last_good_snapshot=good, last_good_at=good_at,
            ).returning(incidents.c.id)).scalar_one()
            opened.append(open_id)
            _outbox(conn, t, open_id, result.camera, state.flapping)
        elif t.event in (Event.FLAPPING, Event.STEADY):
            _outbox(conn, t, open_id, result.camera, state.flapping)
    if open_id is not None and result.verdict != "ok":
        conn.execute(update(incidents).where(incidents.c.id == open_id).values(last_seen_at=result.started_at))
    return opened


def _outbox(conn: Connection, t: Transition, incident_id: int | None, camera_id: str, flapping: bool) -> None:
    """The notification a transition requires, in the same transaction (routing happens at send time).
    `flapping`: the camera is flapping after this check (its opens and closes are summarised, not emailed)."""
    payload = {"event": str(t.event), "at": t.at.isoformat(), "status_from": str(t.status_from),
               "status_to": str(t.status_to), "flapping": flapping, **t.details}
    if t.incident:
        payload.update(kind=str(t.incident.kind), severity=str(t.incident.severity),
                       started_at=t.incident.started_at.isoformat())
    if t.closed_at:
        payload["closed_at"] = t.closed_at.isoformat()
    conn.execute(insert(notifications).values(created_at=t.at, incident_id=incident_id, camera_id=camera_id,
                                              event=str(t.event), payload=payload, attempts=0))


def _finite(n: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 5) for k, v in n.items() if v == v and abs(v) != float("inf")}


# ---------------------------------------------------------------- runs (monitored time)

def start_run(conn: Connection, node: str, now: dt.datetime) -> int:
    return conn.execute(insert(runs).values(node=node, started_at=now, heartbeat_at=now).returning(runs.c.id)).scalar_one()


def heartbeat(conn: Connection, run_id: int, now: dt.datetime, stopped: bool = False) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(heartbeat_at=now, **({"stopped_at": now} if stopped else {})))


# ---------------------------------------------------------------- maintenance

def add_maintenance(conn: Connection, starts_at: dt.datetime, ends_at: dt.datetime, reason: str,
                    camera_id: str | None = None, commune: str | None = None, source: str = "cli") -> int:
    if (camera_id is None) == (commune is None):
        raise ValueError("maintenance is for one camera or one commune")
    return conn.execute(insert(maintenance).values(camera_id=camera_id, commune=commune, starts_at=starts_at,
                                                   ends_at=ends_at, reason=reason, source=source)
                        .returning(maintenance.c.id)).scalar_one()


def end_maintenance(conn: Connection, camera_id: str, now: dt.datetime) -> int:
    return conn.execute(update(maintenance).where(
        maintenance.c.camera_id == camera_id, maintenance.c.starts_at <= now, maintenance.c.ends_at > now
    ).values(ends_at=now)).rowcount


def maintenance_windows(conn: Connection, camera_id: str, commune: str, start: dt.datetime,
                        end: dt.datetime) -> list[Interval]:
    rows = conn.execute(select(maintenance.c.starts_at, maintenance.c.ends_at).where(
        or_(maintenance.c.camera_id == camera_id, maintenance.c.commune == commune),
        maintenance.c.ends_at > start, maintenance.c.starts_at < end))
    return [(r.starts_at, r.ends_at) for r in rows]


def in_maintenance(conn: Connection, camera_id: str, commune: str, at: dt.datetime,
                   planned: Iterable[Interval] = ()) -> bool:
    """The one maintenance decision: a window from the command line (stored) or from the config (`planned`)."""
    return any(a <= at < b for a, b in planned) or \
        bool(maintenance_windows(conn, camera_id, commune, at, at + dt.timedelta(microseconds=1)))


# ---------------------------------------------------------------- reading

def camera_rows(conn: Connection, commune: str | None = None, include_retired: bool = False) -> list[Any]:
    q = select(cameras).order_by(cameras.c.commune, cameras.c.id)
    if commune:
        q = q.where(cameras.c.commune == commune)
    if not include_retired:
        q = q.where(cameras.c.retired_at.is_(None))
    return list(conn.execute(q))


def incident_rows(conn: Connection, open_only: bool = False, since: dt.datetime | None = None,
                  camera_id: str | None = None) -> list[Any]:
    q = select(incidents).order_by(incidents.c.started_at)
    if open_only:
        q = q.where(incidents.c.closed_at.is_(None))
    if since:
        q = q.where(or_(incidents.c.closed_at.is_(None), incidents.c.closed_at >= since))
    if camera_id:
        q = q.where(incidents.c.camera_id == camera_id)
    return list(conn.execute(q))


DELIVERIES = ("email", "webhook")  # outbox rows that are deliveries (the others are transitions)


def outbox_counts(conn: Connection) -> dict[str, int]:
    emails = notifications.c.event.in_(DELIVERIES)
    row = conn.execute(select(
        func.count().filter(and_(emails, notifications.c.sent_at.is_(None), notifications.c.failed_permanently.is_(False))),
        func.count().filter(and_(emails, notifications.c.sent_at.is_not(None))),
        func.count().filter(and_(emails, notifications.c.failed_permanently.is_(True))),
    )).one()
    return {"pending": row[0], "sent": row[1], "failed": row[2]}



def outbox_counts_of(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return outbox_counts(conn)


def notification_rows(conn: Connection, limit: int) -> list[Any]:
    """The newest deliveries (emails and webhook posts) of the outbox, newest first."""
    return list(conn.execute(select(notifications).where(notifications.c.event.in_(DELIVERIES))
                             .order_by(notifications.c.id.desc()).limit(limit)))


def maintenance_rows(conn: Connection, now: dt.datetime) -> list[Any]:
    """Maintenance windows (from the command line) not yet over."""
    return list(conn.execute(select(maintenance).where(maintenance.c.ends_at > now).order_by(maintenance.c.starts_at)))


def node_rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(nodes).order_by(nodes.c.node_id)))


def has_schema(engine: Engine) -> bool:
    """Whether the database exists and has been created (`camwatch db upgrade`); never creates it."""
    from sqlalchemy import inspect
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).exists():
        return False
    with engine.connect() as conn:  # an unusable database raises (`store.errors` says why in one line)
        return inspect(conn).has_table("cameras")


# ---------------------------------------------------------------- the report

def cameras_between(conn: Connection, start: dt.datetime, end: dt.datetime) -> list[Any]:
    """Cameras that existed at some moment of [start, end), retired ones included."""
    return list(conn.execute(select(cameras).where(
        cameras.c.added_at < end, or_(cameras.c.retired_at.is_(None), cameras.c.retired_at > start))))


def incidents_between(conn: Connection, camera_id: str, start: dt.datetime, end: dt.datetime) -> list[Any]:
    """One camera's incidents overlapping [start, end), oldest first."""
    return list(conn.execute(select(incidents).where(
        incidents.c.camera_id == camera_id, incidents.c.started_at < end,
        or_(incidents.c.closed_at.is_(None), incidents.c.closed_at > start)).order_by(incidents.c.started_at)))
