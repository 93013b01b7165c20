"""Alembic environment: camwatch passes its engine in `config.attributes["engine"]`."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from alembic import context
from camwatch.store.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: -x url=...
    engine = create_engine(context.get_x_argument(as_dictionary=True).get("url", "sqlite:///state/camwatch.db"))

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":  # several nodes starting at once: one migrates, the others wait
        connection.execute(text("SELECT pg_advisory_xact_lock(7500)"))
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
