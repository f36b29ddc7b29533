"""The task store (adapters/store/task_repo.py) on SQLite and PostgreSQL: a task round
trips with its history, filters, versions, cursors, reminders, the report read; the
migration matches the tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect
from store_support import BACKENDS, migrated_engine
from tasks_support import NOI_VU, TAI_CHINH, UBND, at, entries

from adapters.store.task_repo import SqlTaskStore
from axis import errors
from axis.errors import AxisError
from axis.tasks import lifecycle
from axis.tasks.lifecycle import TaskState
from axis.tasks.ports import TaskFilter


def _tasks() -> list[lifecycle.Task]:
    return [lifecycle.assign(e, document_id="d-1", office=UBND, at=at(12, 1))
            for e in entries()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_task_round_trips_with_its_history_and_version(backend: str, tmp_path: Path) -> None:
    with migrated_engine(backend, tmp_path) as engine:
        store = SqlTaskStore(engine)
        first, second, third = _tasks()
        with store.transaction() as tx:
            for t in (first, second, third):
                assert tx.add_task(t)
                tx.add_history(t.code, t.history)
            assert not tx.add_task(first)  # a code exists once
        replied = lifecycle.reply(lifecycle.receive(first, actor=TAI_CHINH, at=at(12, 2)),
                                  actor=TAI_CHINH, document_id="r-1", at=at(12, 3))
        asked = lifecycle.request_extension(
            lifecycle.receive(third, actor=third.lead.organ_id, at=at(12, 2)),
            actor=third.lead.organ_id, at=at(12, 4), document_id="x-1",
            asked_deadline=date(2026, 12, 20), reason="chờ số liệu")
        with store.transaction() as tx:
            v = tx.task(first.code, for_update=True)
            assert v is not None and v.version == 1
            assert tx.save_task(replied, v.version) == 2
            tx.add_history(first.code, replied.history[1:], journal_seqs=[7, 8])
            with pytest.raises(AxisError) as stale:
                tx.save_task(replied, 1)
            assert stale.value.code is errors.STORE_CONFLICT
            w = tx.task(third.code)
            assert w is not None
            tx.save_task(asked, w.version)
            tx.add_history(third.code, asked.history[1:], by="lan")
        with store.reading() as tx:
            back = tx.task(first.code)
            assert back is not None and back.task == replied and back.version == 2
            again = tx.task(third.code)
            assert again is not None and again.task == asked
            assert [h.journal_seq for h in tx.history(first.code)] == [None, 7, 8]
            assert tx.history(third.code)[-1].by == "lan"
            # an agency's own tasks: lead or supporting
            assert {t.code for t in tx.find(TaskFilter(agency=TAI_CHINH))} == {
                first.code, third.code}
            assert [t.code for t in tx.find(TaskFilter(lead=NOI_VU))] == [second.code]
            assert [t.code for t in tx.find(TaskFilter(
                state=TaskState.AWAITING_APPROVAL))] == [first.code]
            window = TaskFilter(deadline_from=date(2026, 12, 11),
                                deadline_to=date(2026, 12, 15))
            assert [t.code for t in tx.find(window)] == [first.code]
            assert tx.count(TaskFilter(officer=first.follower.name)) == 3
            assert {t.code for t in tx.open_for_reminders()} == {second.code, third.code}
        report = store.tasks_for_report(at(11, 15), at(12, 15))
        assert {t.code for t in report} == {first.code, second.code, third.code}
        assert store.tasks_for_report(at(11, 1), at(12, 1)) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_cursors_and_reminders_are_claimed_once(backend: str, tmp_path: Path) -> None:
    with migrated_engine(backend, tmp_path) as engine:
        store = SqlTaskStore(engine)
        with store.transaction() as tx:
            c = tx.take_cursor("tracker")
            assert c is not None and c.seq == 0 and c.at is None
            tx.move_cursor("tracker", seq=42, at=at(12, 1))
            n = tx.claim_reminder("T-1", "before:2026-12-15:3", at=at(12, 10),
                                  sent_at=at(12, 10))
            assert n is not None
            tx.set_reminder_document(n, "doc")
            assert tx.claim_reminder("T-1", "before:2026-12-15:3", at=at(12, 10),
                                     sent_at=at(12, 11)) is None
        with store.transaction() as tx:
            c = tx.take_cursor("tracker")
            assert c is not None and c.seq == 42 and c.at == at(12, 1)
            assert tx.reminders_of("T-1") == [("before:2026-12-15:3", at(12, 10), "doc")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_matches_the_tables_and_downgrades(backend: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from adapters.store import migrate
    from adapters.store.db import metadata
    from adapters.store.task_tables import TASK_TABLES

    names = {t.name for t in TASK_TABLES}
    with migrated_engine(backend, tmp_path) as engine:
        assert names <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(ctx, metadata)
                     if any(n in repr(d) for n in names)]
        assert diffs == []
        migrate.downgrade(engine, "0013_refused_packages")
        assert not names & set(inspect(engine).get_table_names())

