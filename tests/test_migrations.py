"""Alembic migrations produce exactly the schema the code declares, on SQLite and PostgreSQL, and go down too."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from camwatch.store import repo
from camwatch.store.schema import metadata


def test_migrations_match_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], diff
    assert repo.current_revision(engine) == repo.head_revision() == "0007"


def test_downgrade_to_the_first_revision_and_back(db_url: str) -> None:
    repo.downgrade(db_url, "0001")
    engine = repo.make_engine(db_url)
    try:
        assert "device_events" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    repo.upgrade(db_url)
    engine = repo.make_engine(db_url)
    try:
        assert "device_events" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
