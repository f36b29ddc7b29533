"""Alembic environment: always online, on the connection `adapters.store.migrate` opens."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

# The table modules register their tables on the shared metadata: import each one here
# (the next revision's author adds theirs), so that autogenerate and the schema test
# see every table.
from adapters.store import (  # noqa: F401
    auth_tables,
    checkpoint_tables,
    peer_tables,
    process_tables,
    refused_tables,
    registry_tables,
    route_tables,
    snapshot_tables,
    sync_tables,
    task_tables,
)
from adapters.store.db import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through adapters.store.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
