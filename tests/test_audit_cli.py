"""`axis audit verify` on the configured database: exit 0 on a good chain, 1 with the seq
of the first broken entry once the journal was edited in the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from route_support import BACKENDS, T0, seconds
from store_support import cli_database

from adapters.cli import main
from adapters.store import migrate
from adapters.store.db import make_engine
from adapters.store.route_repo import SqlRouteStore


@pytest.fixture(params=BACKENDS)
def node_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The node's database as the CLI finds it from its settings (store_support.cli_database)."""
    yield from cli_database(request.param, tmp_path, monkeypatch)


def journal_of(url: str, n: int, *, seal: bool = True) -> None:
    """`n` entries, sealed as the node's `journal.seal` job would."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    store = SqlRouteStore(engine)
    for i in range(n):
        with store.transaction() as tx:
            tx.append_journal(T0 + seconds(i), "delivery.queued", f"d{i}", {"i": i})
    if seal:
        assert not store.seal_journal(T0).broken
    engine.dispose()


def tamper(url: str, sql: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def audit(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["audit", "verify"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def good(entries: int, sealed: int) -> dict[str, object]:
    return {"entries": entries, "ok": True, "first_broken": None, "reason": "",
            "sealed_seq": sealed, "unsealed": entries - sealed, "gaps_rolled_back": [],
            "gaps_pending": [], "gaps_pending_count": 0, "beyond_end": 0}


def test_a_fresh_node_has_a_valid_empty_journal(
    node_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The audit only reads and never migrates (tests/test_db_cli.py): the schema first.
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert audit(capsys) == (0, good(0, 0))


def test_good_chain_exits_0(node_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    journal_of(node_db, 6)
    assert audit(capsys) == (0, good(6, 6))


def test_the_unsealed_tail_is_verified_and_reported(
    node_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_of(node_db, 4)
    journal_of(node_db, 3, seal=False)
    assert audit(capsys) == (0, good(7, 4))
    tamper(node_db, "UPDATE journal SET payload = '{\"i\":9}' WHERE seq = 6")
    code, report = audit(capsys)
    assert (code, report["first_broken"], report["sealed_seq"]) == (1, 6, 4)
    assert report["reason"] == "entry content does not match its hash"


def test_entry_edited_in_the_database_exits_1_with_its_seq(
    node_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_of(node_db, 6)
    tamper(node_db, "UPDATE journal SET subject = 'someone-else' WHERE seq = 4")
    code, report = audit(capsys)
    assert code == 1
    assert report["ok"] is False and report["first_broken"] == 4
    assert report["reason"] == "entry content does not match its hash"


def test_entry_deleted_in_the_database_exits_1(
    node_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_of(node_db, 6)
    tamper(node_db, "DELETE FROM journal WHERE seq = 6")
    code, report = audit(capsys)
    assert (code, report["first_broken"]) == (1, 6)
