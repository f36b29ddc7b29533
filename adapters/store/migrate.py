"""Schema migrations, run in code: no alembic.ini to ship or to find at run time.

`upgrade(engine_or_url)` brings a database to the newest revision; the entry points that
write (`axis serve`, `axis worker`, `axis db upgrade`, the registry's changes) call it
first. Commands that only read call `require_current` instead and never migrate.
Revisions live in `adapters/store/migrations/versions/` as a single line: 0001_registry
(this module's tables), then 0002_route (packages, deliveries, outbox, inbox, trail,
journal) with `down_revision = "0001_registry"`, and so on. To add one, copy
`migrations/script.py.mako` to `versions/NNNN_name.py`, fill it in with explicit
`op.create_table` calls (the same definitions as the table module, named through the
shared naming convention) and set `down_revision` to the current head; the test
`test_registry_migrations.py` checks that the single head migrates to what `metadata`
describes.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from adapters.store.db import make_engine
from axis import errors

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Any fixed number: serialises nodes that start at once against one PostgreSQL database.
_PG_LOCK = 0x41584953  # "AXIS"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    # "os": a checkout path with spaces must not be split into several locations.
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    cfg.attributes["connection"] = connection
    return cfg


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def _run(target: Engine | str, action: str, revision: str) -> None:
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        # One transaction: on PostgreSQL DDL is transactional, so a failed migration
        # leaves the previous schema intact; the advisory lock makes a second node
        # starting at the same moment wait, then find nothing left to do.
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            cfg = alembic_config(conn)
            if action == "upgrade":
                command.upgrade(cfg, revision)
            else:
                command.downgrade(cfg, revision)
    except (SQLAlchemyError, CommandError) as exc:
        # CommandError: e.g. the database is at a revision this code does not know (a
        # newer node migrated it): refuse to run rather than guess.
        raise errors.STORE_UNAVAILABLE.error(f"migration {action} to {revision}: {exc}") from exc
    finally:
        if isinstance(target, str):
            engine.dispose()


def upgrade(target: Engine | str, revision: str = "head") -> None:
    """Migrate the database (an engine, or a URL) up to `revision`."""
    _run(target, "upgrade", revision)


def downgrade(target: Engine | str, revision: str) -> None:
    _run(target, "downgrade", revision)


def current(target: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with target.connect() as conn:
        rev: str | None = MigrationContext.configure(conn).get_current_revision()
        return rev


def require_current(target: Engine) -> None:
    """Refuse (`node.schema_outdated`) unless the database is at this code's head.

    For commands that only read: they never migrate (an auditor's read must not change
    the database it audits, and may run with a read-only account or file), so an empty,
    older or newer schema is the operator's to upgrade with `axis db upgrade`."""
    (head,) = heads()  # a single line of revisions (test_registry_migrations.py)
    try:
        at = current(target)
    except SQLAlchemyError as exc:
        raise errors.STORE_UNAVAILABLE.error(f"reading the schema revision: {exc}") from exc
    if at == head:
        return
    where = target.url.render_as_string(hide_password=True)
    if at is None:
        found = "has no schema (never migrated)"
    elif at in _known():
        found = f"is at revision {at}"
    else:
        found = f"is at revision {at}, which this node does not know (a newer version?)"
    raise errors.SCHEMA_OUTDATED.error(
        f"the database {where} {found}; this node needs {head}: run `axis db upgrade`")


def _known() -> set[str]:
    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
