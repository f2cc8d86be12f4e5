"""Alembic environment: runs migrations on the engine handed over by `backend.storage.migrate`."""

from __future__ import annotations

from alembic import context

from backend.storage.metadata import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    context.run_migrations()
