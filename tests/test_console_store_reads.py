"""The reads behind the console's Journal, Registry and Operations pages, on SQLite and
PostgreSQL (skipped without it, failed in CI): a time window as seq numbers, the access
trail of one actor, checkpoints a page at a time; the registry searched and counted in
the database; dead letters with their trail's failure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from admin_support import settle, start
from exchange_support import NOI_VU, TAI_CHINH, UBND, TestNode
from route_support import BACKENDS
from store_support import database_url

from adapters.store.checkpoints import SqlCheckpoints, export_dir
from adapters.store.dead_letter_reads import SqlDeadLetterReads
from adapters.store.journal_reads import SqlJournalReads
from adapters.store.registry_search import SqlAgencySearch
from axis.journal.access import Access, Action, Channel
from axis.registry.model import AgencyState
from axis.trust.verdict import fingerprint


@pytest.fixture(params=BACKENDS)
def t(request: pytest.FixtureRequest, tmp_path: Path,
      pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    with database_url(request.param, tmp_path) as url:
        node = start(tmp_path, *pki_dirs, database_url=url)
        try:
            yield node
        finally:
            node.node.close()


def _reads(t: TestNode) -> SqlJournalReads:
    return SqlJournalReads(t.node.store, export_dir(t.node.settings),
                           {fingerprint(t.node.signer.cert)})


def test_journal_reads_window_actor_and_checkpoints(t: TestNode) -> None:
    reads = _reads(t)
    start_seq = t.node.store.journal_head()[0]
    t.clock.advance(timedelta(hours=1))
    for actor, detail in (("an", {}), ("binh", {"actor": "an"}), ("an", {})):
        t.node.access.record(Access(actor=actor, role="auditor", action=Action.SEARCH,
                                    target="x", channel=Channel.CONSOLE, detail=detail))
    t.clock.advance(timedelta(hours=1))
    t.node.access.record(Access(actor="an", role="auditor", action=Action.VIEW,
                                target="y", channel=Channel.API))
    now = t.clock.now()
    window = reads.seq_range(now - timedelta(hours=1, minutes=30), now - timedelta(minutes=30))
    assert window is not None and window[1] - window[0] == 2 and window[0] > start_seq
    assert reads.seq_range(now + timedelta(hours=1), None) is None
    # One actor's own entries: a detail naming them is not theirs.
    mine = reads.access_entries("an", 10, 0)
    assert [e.kind for e in mine] == ["access.view", "access.search", "access.search"]
    assert [e.seq for e in reads.access_entries("an", 1, 1)] == [mine[1].seq]
    assert [e.payload["actor"] for e in reads.access_entries("binh", 10, 0)] == ["binh"]
    assert len(reads.access_entries("", 10, 0)) == 4

    assert reads.checkpoints(10, 0) == [] and reads.checkpoint_verdict() is None
    cps = SqlCheckpoints(t.node.engine, export_dir(t.node.settings))
    for _ in range(2):
        t.node.access.record(Access(actor="an", role="auditor", action=Action.VIEW,
                                    target="z", channel=Channel.API))
        t.node.store.seal_journal(now)
        cps.take(now, t.node.signer)
    listed = reads.checkpoints(10, 0)
    assert len(listed) == 2 and listed[0].checkpoint.seq > listed[1].checkpoint.seq
    assert all(row.file.endswith(".json") for row in listed)
    assert [r.checkpoint.seq for r in reads.checkpoints(1, 1)] == [listed[1].checkpoint.seq]
    verdict = reads.checkpoint_verdict()
    assert verdict is not None and verdict["verdict"] == "ok"
    assert verdict["seq"] == listed[0].checkpoint.seq


def test_registry_search_by_either_form_name_state_and_page(t: TestNode) -> None:
    search = SqlAgencySearch(t.node.engine)
    total = len(t.node.registry.list())
    count, first = search.search("", None, 10, 0)
    assert count == total and len(first) == 10 and first == sorted(first)
    _, second = search.search("", None, 10, 10)
    assert not set(first) & set(second)
    for text in ("H37.02", NOI_VU, "Sở Nội vụ", "sở nội vụ"):  # case folded
        assert search.search(text, None, 10, 0) == (1, [NOI_VU]), text
    assert search.search("Nội vụ", None, 10, 0)[0] == 2  # and the ministry (Bộ Nội vụ)
    assert search.search("100%", None, 10, 0) == (0, [])  # LIKE wildcards are text here
    t.node.registry.suspend(TAI_CHINH, actor="test", reason="thử")
    assert search.search("", AgencyState.SUSPENDED, 10, 0) == (1, [TAI_CHINH])
    assert search.search("H37.02", AgencyState.SUSPENDED, 10, 0) == (0, [])


def test_dead_letters_newest_first_with_their_failure(t: TestNode) -> None:
    ids = []
    for n in range(3):
        [d] = t.node.exchange.submit(t.document(UBND, (NOI_VU,), n + 1)[1]).deliveries
        ids.append(d.delivery_id)
        t.clock.advance(timedelta(minutes=1))
    settle(t)
    for n, delivery_id in enumerate(ids[:2]):
        assert t.node.pusher.dead_letter(delivery_id, attempts=3 + n, last_error=f"HTTP 50{n}")
    reads = SqlDeadLetterReads(t.node.store.engine)
    total, page = reads.page(10, 0)
    assert total == 2 and [d.delivery_id for d in page] == [ids[1], ids[0]]
    assert page[0].detail == "push: 4 attempts; HTTP 501" and page[0].channel == "push"
    assert page[0].failed_at is not None and page[0].recipient_id == NOI_VU
    assert [d.delivery_id for d in reads.page(1, 1)[1]] == [ids[0]]
    assert reads.get(ids[0]) is not None and reads.get(ids[2]) is None  # not failed
