"""`axis db upgrade` and `axis db status`: the node's database schema, migrated on purpose.

`axis serve` and `axis worker` migrate at start; commands that only read (`axis audit
verify`, `axis trail`, `axis registry list|show|export`) never do: they open the database
read-only through `open_read_only` and refuse with `node.schema_outdated` (exit 2) when it
is not at this node's revision, naming the command that fixes it. An auditor's read must
not change the database it audits, and may run with a read-only account or file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from adapters.store import migrate
from adapters.store.db import database_url, make_engine, sqlite_file
from axis import errors
from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="the node's database schema")
    dsub = p.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="migrate the database to this node's schema revision")
    up.set_defaults(handler=run_upgrade)
    st = dsub.add_parser(
        "status", help="print {current, head, ok}; exit 0 when the schema is current, 1 if not")
    st.set_defaults(handler=run_status)


def _url(settings: Settings) -> str:
    return database_url(settings.database_url, settings.data_dir)


def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(_url(settings))
    try:
        before = migrate.current(engine)
        migrate.upgrade(engine)
        after = migrate.current(engine)
    finally:
        engine.dispose()
    print(json.dumps({"from": before, "to": after}))
    return 0


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    (head,) = migrate.heads()
    at: str | None = None
    if _missing_file(_url(settings)) is None:
        with open_read_only(settings, require_current=False) as engine:
            try:
                at = migrate.current(engine)
            except SQLAlchemyError as exc:
                raise errors.STORE_UNAVAILABLE.error(f"reading the schema: {exc}") from exc
    print(json.dumps({"current": at, "head": head, "ok": at == head}))
    return 0 if at == head else 1


@contextmanager
def open_read_only(settings: Settings, *, require_current: bool = True) -> Iterator[Engine]:
    """The configured database, opened so that nothing can be written through it, and
    (by default) checked to be at this node's schema revision."""
    url = _url(settings)
    missing = _missing_file(url)
    if require_current and missing is not None:
        # Not created: SQLite's read-only mode would not open it, and an empty file made
        # here would only hide that the node never ran against this data directory.
        raise errors.SCHEMA_OUTDATED.error(
            f"no database at {missing}: run `axis db upgrade` (or `axis serve`) first")
    engine = make_engine(url, read_only=True)
    try:
        if require_current:
            migrate.require_current(engine)
        yield engine
    finally:
        engine.dispose()


def _missing_file(url: str) -> Path | None:
    """The SQLite file `url` names when it does not exist; None otherwise."""
    if not url.startswith("sqlite"):
        return None
    path = sqlite_file(url)
    return path if path is not None and not path.exists() else None
