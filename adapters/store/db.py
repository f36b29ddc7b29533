"""Engines and the one MetaData every table module registers its tables on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import URL, Connection, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from axis import errors
from axis.errors import Code

# Stable constraint names so that Alembic migrations are the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


@contextmanager
def transaction(engine: Engine, what: str, *,
                conflict: Code | None = None) -> Iterator[Connection]:
    """One transaction of a small store, its database errors translated (design.md:
    foreign exceptions stop here): a broken unique key is `conflict` (raised as
    SQLAlchemy's IntegrityError when None, for a caller that decides), anything else
    `node.store_unavailable` naming `what`."""
    try:
        with engine.begin() as conn:
            yield conn
    except IntegrityError as exc:
        if conflict is None:
            raise
        raise conflict.error(f"conflict: {exc.orig}") from exc
    except (DBAPIError, SQLAlchemyError) as exc:
        raise errors.STORE_UNAVAILABLE.error(f"{what}: {type(exc).__name__}") from exc


def database_url(configured: str, data_dir: Path) -> str:
    """The configured URL, or the embedded default: SQLite under the data directory."""
    if configured:
        return configured
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'axis.sqlite3').resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; FULL sync: a committed receipt survives a
    # power cut (persist before acknowledging, design.md).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_read_only_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # No journal_mode change (that writes the file header); query_only refuses any write
    # the opening mode (mode=ro) would not already refuse.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, *, read_only: bool = False, pool_size: int = 5) -> Engine:
    """An engine on `url`. `read_only`: for commands that only read (`axis audit verify`,
    `axis trail`, `axis registry list` …): the database cannot be written through it,
    not even by a migration (SQLite opened with mode=ro and query_only; PostgreSQL
    sessions with default_transaction_read_only)."""
    if url.startswith("sqlite"):
        if read_only:
            return _sqlite_read_only(url)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if read_only:
        # Added to the URL's own libpq options (e.g. a search_path), not in their place.
        given = make_url(url).query.get("options", "")
        options = " ".join([*([given] if isinstance(given, str) else given),
                            "-c default_transaction_read_only=on"]).strip()
        return create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=1,
                             connect_args={"options": options})
    # `pool_size` (Settings.database_pool_size): the node's processes pass theirs.
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size,
                         max_overflow=pool_size)


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL; None for an in-memory database."""
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_read_only(url: str) -> Engine:
    path = sqlite_file(url)
    if path is None:  # in memory: nothing on disk to protect
        engine = create_engine(url, connect_args={"check_same_thread": False})
    else:
        # mode=ro: SQLite never creates or writes the file (a missing one fails to open
        # instead of appearing empty); uri=true makes the driver read the query string.
        # Percent-escaped: a path may hold `?`, `#` or `%`, which a URI would misread.
        ro = URL.create("sqlite", database=f"file:{quote(str(path.resolve()))}",
                        query={"mode": "ro", "uri": "true"})
        engine = create_engine(ro, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_read_only_pragmas)
    return engine
