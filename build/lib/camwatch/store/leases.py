"""Several camwatch nodes on one PostgreSQL database share the cameras with leases.

Each node, every few seconds, in one short transaction: writes its heartbeat, renews its own leases,
releases what it holds beyond its fair share (so a node that joins gets cameras), and takes free or
expired leases up to its fair share — a node that died stops renewing, its leases expire after
`ttl` (default two check intervals), and the others take its cameras over. Taking a lease is a
compare-and-set (an INSERT … ON CONFLICT DO NOTHING RETURNING, or an UPDATE … WHERE expires_at <= now
and its row count), so two nodes can never both win one camera; a check result is stored only by the
node that still holds the camera's lease (`repo.record_check` verifies it under a row lock). This
gives what `SELECT … FOR UPDATE SKIP LOCKED` would, without holding locks between statements, and
works unchanged on SQLite for the single-node case. No home-made cluster protocol: PostgreSQL is the
only arbiter.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from camwatch.store.schema import leases, nodes


class LeaseLost(Exception):
    """This node no longer holds the camera: its check result is not stored."""


def plan(held: int, total: int, alive: int) -> tuple[int, int]:
    """(to acquire, to release) for a node holding `held` of `total` cameras among `alive` nodes. Pure."""
    share = math.ceil(total / max(1, alive))
    return (share - held, 0) if held <= share else (0, held - share)


def _insert(conn: Connection):
    return pg_insert(leases) if conn.dialect.name == "postgresql" else sqlite_insert(leases)


def heartbeat(conn: Connection, node: str, now: dt.datetime, communes: Iterable[str] = ()) -> None:
    stmt = (pg_insert(nodes) if conn.dialect.name == "postgresql" else sqlite_insert(nodes)).values(
        node_id=node, started_at=now, heartbeat_at=now, communes=list(communes))
    conn.execute(stmt.on_conflict_do_update(index_elements=["node_id"],
                                            set_={"heartbeat_at": now, "communes": list(communes)}))


class SingleNodeError(RuntimeError):
    """A second node on a SQLite database (SQLite is for one node)."""


def join(conn: Connection, node: str, now: dt.datetime, ttl_s: float, cluster: bool) -> None:
    """A node starts. On SQLite, where only one node may run, another live node is refused."""
    if cluster:
        return  # leases share the cameras
    others = [n for n in live_nodes(conn, now, ttl_s) if n != node]
    if others:
        raise SingleNodeError(f"node(s) {', '.join(others)} already run on this SQLite database: SQLite is for "
                              "one node; point every node at PostgreSQL (database_url) to run several")
    heartbeat(conn, node, now)


def live_nodes(conn: Connection, now: dt.datetime, ttl_s: float) -> list[str]:
    since = now - dt.timedelta(seconds=ttl_s)
    return [r[0] for r in conn.execute(select(nodes.c.node_id).where(nodes.c.heartbeat_at > since)
                                       .order_by(nodes.c.node_id))]


def rebalance(conn: Connection, node: str, cameras: dict[str, str], now: dt.datetime, ttl_s: float,
              pinned: Iterable[str] = ()) -> tuple[set[str], int]:
    """One round for `node`; `cameras` maps camera id → commune. Returns (cameras held, taken over)."""
    pinned = set(pinned)
    expires = now + dt.timedelta(seconds=ttl_s)
    heartbeat(conn, node, now, pinned)
    alive = max(1, len(live_nodes(conn, now, ttl_s)))
    conn.execute(update(leases).where(leases.c.node_id == node, leases.c.expires_at > now).values(expires_at=expires))
    mine = {r[0] for r in conn.execute(select(leases.c.camera_id).where(leases.c.node_id == node,
                                                                        leases.c.expires_at > now))}
    gone = mine - set(cameras)
    if gone:  # retired or removed from the config
        conn.execute(delete(leases).where(leases.c.node_id == node, leases.c.camera_id.in_(gone)))
        mine -= gone
    acquire, release = plan(len(mine), len(cameras), alive)
    if release:  # give back the cameras least ours first (not pinned to us), so a new node gets its share
        order = sorted(mine, key=lambda c: (cameras[c] in pinned, _spread(node, c)))
        freed = set(order[:release])
        conn.execute(delete(leases).where(leases.c.node_id == node, leases.c.camera_id.in_(freed)))
        mine -= freed
    taken = 0
    if acquire > 0:
        holders = {r.camera_id: r for r in conn.execute(select(leases.c.camera_id, leases.c.expires_at))}
        candidates = [c for c in cameras if c not in holders or holders[c].expires_at <= now]
        candidates.sort(key=lambda c: (cameras[c] not in pinned, _spread(node, c)))
        for cam in candidates:
            if acquire <= 0:
                break
            if cam in holders:  # expired: take it over, if nobody else did first
                won = conn.execute(update(leases).where(leases.c.camera_id == cam, leases.c.expires_at <= now).values(
                    node_id=node, acquired_at=now, expires_at=expires)).rowcount == 1
                taken += won
            else:
                # RETURNING, not rowcount: psycopg reports no row count for INSERT … ON CONFLICT DO NOTHING
                won = conn.execute(_insert(conn).values(camera_id=cam, node_id=node, acquired_at=now, expires_at=expires)
                                   .on_conflict_do_nothing(index_elements=["camera_id"])
                                   .returning(leases.c.camera_id)).first() is not None
            if won:
                mine.add(cam)
                acquire -= 1
    return mine, taken


def release_all(conn: Connection, node: str) -> None:
    """A node that stops cleanly hands its cameras over at once."""
    conn.execute(delete(leases).where(leases.c.node_id == node))
    conn.execute(delete(nodes).where(nodes.c.node_id == node))


def verify(conn: Connection, camera_id: str, node: str, now: dt.datetime) -> None:
    """Under a row lock: does `node` still hold `camera_id`? Raises LeaseLost if not."""
    q = select(leases.c.node_id, leases.c.expires_at).where(leases.c.camera_id == camera_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None or row.node_id != node or row.expires_at <= now:
        raise LeaseLost(camera_id)


def counts(conn: Connection) -> dict[str, int]:
    return {r[0]: r[1] for r in conn.execute(select(leases.c.node_id, func.count()).group_by(leases.c.node_id))}


def _spread(node: str, camera: str) -> int:
    """A stable per-node order, so that nodes reach for different cameras first."""
    return zlib.crc32(f"{node}/{camera}".encode())


class Holder:
    """This node's side of the leases: one round renews and rebalances, and says what changed."""

    def __init__(self, engine: Engine, node: str, ttl_s: float, pinned: Iterable[str] = ()) -> None:
        self.engine, self.node, self.ttl_s, self.pinned = engine, node, ttl_s, list(pinned)
        self.held: set[str] = set()
        self.until = dt.datetime.now(dt.UTC)
        self.rounds = 0

    def holds(self, camera_id: str, now: dt.datetime) -> bool:
        return camera_id in self.held and now < self.until

    def round(self, cameras: dict[str, str], now: dt.datetime) -> tuple[set[str], set[str], int]:
        """(gained, lost, taken over from a silent node) after one round at `now`."""
        with self.engine.begin() as conn:
            held, taken = rebalance(conn, self.node, cameras, now, self.ttl_s, self.pinned)
        self.until = now + dt.timedelta(seconds=self.ttl_s)
        gained, lost = held - self.held, self.held - held
        self.held = held
        self.rounds += 1
        return gained, lost, taken
