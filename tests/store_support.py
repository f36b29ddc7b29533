"""Databases for store contract tests: the same body runs on SQLite and PostgreSQL.

Each test gets an empty database of its own: a fresh SQLite file, or a fresh PostgreSQL
schema named at random and put first on the connection's `search_path` (a libpq
`options` parameter in the URL, so that every engine built from the URL, the CLI's
included, lands in it). Nothing is shared with other tests or with other engineers
running theirs against the same `test` database; the schema is dropped afterwards.
PostgreSQL unreachable: skipped on a laptop, failed in CI (`service_support`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from service_support import require_postgres
from sqlalchemy import Engine, create_engine, text

from adapters.store import migrate
from adapters.store.db import make_engine

BACKENDS = ("sqlite", "postgresql")


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of `backend`, isolated for one test."""
    if backend == "sqlite":
        yield f"sqlite:///{(tmp_path / 'axis-test.sqlite3').resolve()}"
        return
    base = require_postgres()
    schema = f"axis_test_{uuid.uuid4().hex[:12]}"
    # Pinged: a test that restarts PostgreSQL must still be able to drop its schema.
    admin = create_engine(base, pool_pre_ping=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def migrated_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine (the node's own `make_engine`) on a fresh database at the newest schema."""
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def cli_database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The node's database as the CLI finds it from its settings: SQLite under
    AXIS_DATA_DIR, or PostgreSQL by AXIS_DATABASE_URL (a fresh schema). Nothing is
    created in it: the file or schema is empty until a command migrates it."""
    from adapters.store.db import database_url as configured_url

    data_dir = tmp_path / "var"
    monkeypatch.setenv("AXIS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    if backend == "sqlite":
        monkeypatch.delenv("AXIS_DATABASE_URL", raising=False)
        yield configured_url("", data_dir)
        return
    with database_url("postgresql", tmp_path) as url:
        monkeypatch.setenv("AXIS_DATABASE_URL", url)
        yield url
