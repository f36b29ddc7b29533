"""Commands that only read never migrate; `axis db upgrade` does, on purpose.

`axis audit verify`, `axis trail`, `axis registry list|show|export` open the database
read-only: on one that is not at this node's schema (never migrated, older) they refuse
with `node.schema_outdated` (exit 2) and leave it exactly as it was; on a current one they
answer without writing a byte, also from a file that cannot be written. On SQLite and on
PostgreSQL (through AXIS_DATABASE_URL, as an operator configures it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from route_support import BACKENDS, T0
from sqlalchemy import text
from store_support import cli_database, database_url

from adapters.cli import main
from adapters.store import migrate
from adapters.store.db import database_url as configured_url
from adapters.store.db import make_engine
from adapters.store.route_repo import SqlRouteStore
from axis.route.model import TrailEntry, TrailEvent

DOC = "000.00.00.H37,2026/11/24,101/UBND-VP"
# Every command that only reads, with what it must answer on a current, seeded database.
READERS: dict[str, tuple[list[str], int]] = {
    "audit verify": (["audit", "verify"], 0),
    "trail": (["trail", DOC, "--json"], 0),
    "registry list": (["registry", "list", "--json"], 0),
    "registry show": (["registry", "show", "H37", "--json"], 0),
    "registry export": (["registry", "export"], 0),
}
FIRST_REVISION = "0001_registry"


@pytest.fixture(params=BACKENDS)
def node_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The database the CLI finds from its settings, empty (store_support.cli_database)."""
    yield from cli_database(request.param, tmp_path, monkeypatch)


def axis(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def revision(url: str) -> str | None:
    engine = make_engine(url, read_only=True)
    try:
        return migrate.current(engine)
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            else:
                rows = conn.execute(text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"))
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def current_node(capsys: pytest.CaptureFixture[str], url: str) -> None:
    """Migrated by `axis db upgrade`, seeded, one trail entry and one journal entry."""
    assert axis(capsys, "db", "upgrade")[0] == 0
    assert axis(capsys, "registry", "seed")[0] == 0
    engine = make_engine(url)
    try:
        with SqlRouteStore(engine).transaction() as tx:
            tx.add_trail(TrailEntry(DOC, "000.00.00.H37", TrailEvent.RECEIVED, T0))
            tx.append_journal(T0, "package.received", DOC, {"doc": DOC})
    finally:
        engine.dispose()


def sqlite_bytes(data_dir: Path) -> tuple[str, bytes]:
    """What a write would change: the database file (digest) and the WAL's content (a
    reader of a WAL database may create an empty WAL and the -shm index, never content)."""
    wal = data_dir / "axis.sqlite3-wal"
    return (hashlib.sha256((data_dir / "axis.sqlite3").read_bytes()).hexdigest(),
            wal.read_bytes() if wal.exists() else b"")


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_reader_refuses_a_database_never_migrated_and_creates_nothing(
    reader: str, node_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = axis(capsys, *READERS[reader][0])
    assert code == 2, (out, err)
    assert "node.schema_outdated" in err and "axis db upgrade" in err
    assert not (tmp_path / "var" / "axis.sqlite3").exists()  # SQLite: no file appeared
    if node_db.startswith("postgresql"):
        assert tables(node_db) == set()  # not even alembic_version


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_reader_refuses_an_outdated_schema_and_leaves_it_as_it_was(
    reader: str, node_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(node_db, FIRST_REVISION)  # what an older node left behind
    before = tables(node_db)
    code, _, err = axis(capsys, *READERS[reader][0])
    assert code == 2
    assert "node.schema_outdated" in err and f"is at revision {FIRST_REVISION}" in err
    assert revision(node_db) == FIRST_REVISION
    assert tables(node_db) == before


def test_readers_answer_from_a_current_database_without_writing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite: the file (and its WAL) made read-only; every reader answers and no byte of
    the database changes (checked by digest too: root ignores file modes)."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("AXIS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("AXIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    current_node(capsys, configured_url("", data_dir))
    files = sorted(data_dir.glob("axis.sqlite3*"))
    for f in files:
        os.chmod(f, 0o444)
    before = sqlite_bytes(data_dir)
    try:
        answers = {}
        for name, (argv, expected) in sorted(READERS.items()):
            code, out, err = axis(capsys, *argv)
            assert code == expected, (name, err)
            answers[name] = out
    finally:
        for f in files:
            os.chmod(f, 0o644)
    assert sqlite_bytes(data_dir) == before
    assert json.loads(answers["audit verify"])["ok"] is True
    assert json.loads(answers["trail"].splitlines()[0])["event"] == "received"
    assert any(a["agency_id"] == "000.00.00.H37"
               for a in json.loads(answers["registry list"]))


def test_readers_answer_on_postgresql_in_read_only_sessions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database_url("postgresql", tmp_path) as url:
        monkeypatch.setenv("AXIS_DATA_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("AXIS_DATABASE_URL", url)
        monkeypatch.delenv("AXIS_CONFIG", raising=False)
        current_node(capsys, url)
        for name, (argv, expected) in sorted(READERS.items()):
            assert axis(capsys, *argv)[0] == expected, name
        # The engine the readers use cannot write, whatever a future reader might try.
        engine = make_engine(url, read_only=True)
        try:
            with pytest.raises(Exception, match="read-only transaction"), \
                    engine.begin() as conn:
                conn.execute(text("DELETE FROM journal"))
        finally:
            engine.dispose()


def test_db_upgrade_migrates_and_status_says_so(
    node_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (head,) = migrate.heads()
    code, out, _ = axis(capsys, "db", "status")
    assert (code, json.loads(out)) == (1, {"current": None, "head": head, "ok": False})
    code, out, _ = axis(capsys, "db", "upgrade")
    assert (code, json.loads(out)) == (0, {"from": None, "to": head})
    assert revision(node_db) == head
    code, out, _ = axis(capsys, "db", "status")
    assert (code, json.loads(out)) == (0, {"current": head, "head": head, "ok": True})
    code, out, _ = axis(capsys, "db", "upgrade")  # again: nothing left to do
    assert (code, json.loads(out)) == (0, {"from": head, "to": head})
    code, out, _ = axis(capsys, "audit", "verify")
    assert code == 0 and json.loads(out)["ok"] is True
