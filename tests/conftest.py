from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from camwatch.sim.fleet import Fleet, free_port, gst_available
from camwatch.store import repo

PASSWORD = "p@ss:w#rd"  # special characters on purpose: they must be URL-encoded
SCENE_MOUNTS = {s: s for s in ("day", "static", "night", "black", "frozen", "frozen_clock", "covered", "blurred", "moved")}
SCENE_MOUNTS |= {"switch": "day", "switch2": "day", "daemon1": "day", "metrics1": "day", "alerts1": "day",
                 "onvif1": "day", "cluster1": "day", "detect1": "day", "detect2": "day"}


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """The real RTSP server (GStreamer) streaming real H.264, one mount per camera condition."""
    if not gst_available():
        pytest.fail("GStreamer's RTSP server is not installed (see .ci/run for the Debian packages)")
    with Fleet(tmp_path_factory.mktemp("fleet"), SCENE_MOUNTS, password=PASSWORD) as f:
        yield f


@pytest.fixture
def closed_port() -> int:
    return free_port()


def _pg_url() -> str | None:
    """$CAMWATCH_TEST_PG_URL, or the database that scripts/setup.sh --test started."""
    written = Path(__file__).parent.parent / ".pg-test-url"
    return os.environ.get("CAMWATCH_TEST_PG_URL") or (written.read_text().strip() if written.exists() else None)


def fresh_pg_database(base: str) -> tuple[str, str, Engine]:
    """A new, migrated PostgreSQL database beside `base`: (its url, its name, an AUTOCOMMIT engine on `base` to
    drop it with)."""
    name = f"cw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    repo.upgrade(url)
    return url, name, admin


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: SQLite in a temp dir, and a fresh PostgreSQL database when available."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'camwatch.db'}"
        repo.upgrade(url)
        yield url
        return
    base = _pg_url()
    if not base:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL in CI: scripts/setup.sh --test must start it")
        pytest.skip("no PostgreSQL (set CAMWATCH_TEST_PG_URL)")
    url, name, admin = fresh_pg_database(base)
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = repo.make_engine(db_url)
    yield e
    e.dispose()
