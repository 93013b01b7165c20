"""Leasing overhead at 1,000 cameras on PostgreSQL: one node's renewal round, and a takeover round.

    .venv/bin/python bench/leases.py postgresql+psycopg://camwatch:camwatch@127.0.0.1/camwatch

Creates a scratch database next to the given one, three nodes share 1,000 cameras, then one stops.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
import uuid

from sqlalchemy import create_engine, text

from camwatch.store import leases, repo

N, TTL = 1000, 120.0


def main() -> None:
    base = sys.argv[1]
    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        repo.upgrade(url)
        engine = repo.make_engine(url)
        cams = {f"C{i:04d}": f"c{i % 17}" for i in range(N)}
        t0 = dt.datetime.now(dt.UTC)
        with engine.begin() as conn:
            repo.sync_cameras(conn, [{"id": c, "commune": m, "name": c} for c, m in cams.items()], t0)
        rounds: list[float] = []
        for k in range(6):  # settle, then steady renewals
            for node in ("a", "b", "c"):
                s = time.perf_counter()
                with engine.begin() as conn:
                    leases.rebalance(conn, node, cams, t0 + dt.timedelta(seconds=20 * k), TTL)
                if k >= 3:
                    rounds.append(time.perf_counter() - s)
        later = t0 + dt.timedelta(seconds=20 * 5 + TTL + 1)  # "c" stopped renewing after its last round
        for k in range(1, 7):  # "a" and "b" go on renewing meanwhile
            for node in ("a", "b"):
                with engine.begin() as conn:
                    leases.rebalance(conn, node, cams, t0 + dt.timedelta(seconds=100 + 20 * k - 5), TTL)
        s = time.perf_counter()
        with engine.begin() as conn:
            _, taken = leases.rebalance(conn, "a", cams, later, TTL)
        takeover_round = time.perf_counter() - s
        with engine.connect() as conn:
            counts = leases.counts(conn)
        print(f"{N} cameras, 3 nodes: steady renewal round median {1000 * statistics.median(rounds):.1f} ms, "
              f"max {1000 * max(rounds):.1f} ms (every interval/3 per node: "
              f"{100 * statistics.median(rounds) / 20:.2f} % of one core at a 60 s interval)")
        print(f"takeover round (node 'a' takes {taken} cameras of the silent node): {1000 * takeover_round:.1f} ms; "
              f"leases now {dict(sorted(counts.items()))}")
        engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
