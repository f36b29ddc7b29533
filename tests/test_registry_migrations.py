"""Migrations: one line of revisions, run in code, giving exactly what the table modules
declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from store_support import BACKENDS, database_url

from adapters.store import migrate
from adapters.store.db import make_engine, metadata
from adapters.store.registry_tables import REGISTRY_TABLES

REGISTRY = {t.name for t in REGISTRY_TABLES}


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_creates_the_registry_tables_and_is_idempotent(
    backend: str, tmp_path: Path
) -> None:
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            assert migrate.current(engine) is None
            migrate.upgrade(engine)
            migrate.upgrade(url)  # again, from a URL: nothing left to do
            assert migrate.current(engine) in migrate.heads()
            assert set(inspect(engine).get_table_names()) >= REGISTRY
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrated_schema_matches_the_table_definitions(backend: str, tmp_path: Path) -> None:
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            with engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                diffs = compare_metadata(ctx, metadata)
        finally:
            engine.dispose()
    mine = [d for d in diffs if REGISTRY & _tables(d)]
    assert mine == [], "registry_tables.py and the migrations disagree: add a revision"


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrade_to_base_removes_the_registry(backend: str, tmp_path: Path) -> None:
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            migrate.downgrade(engine, "base")
            assert not REGISTRY & set(inspect(engine).get_table_names())
            assert migrate.current(engine) is None
        finally:
            engine.dispose()


def test_one_line_of_revisions_starting_at_0001_registry() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(migrate.heads()) == 1, "two heads: set down_revision to the previous head"
    assert script.get_revision("0001_registry").down_revision is None
    assert script.get_base() == "0001_registry"


def _tables(diff: object) -> set[str]:
    """The table names a compare_metadata entry is about (entries are nested tuples)."""
    found: set[str] = set()
    stack = [diff]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif isinstance(item, str):
            found.add(item)
        elif hasattr(item, "table") and hasattr(item.table, "name"):
            found.add(item.table.name)
        elif hasattr(item, "name") and hasattr(item, "columns"):
            found.add(item.name)
    return found
