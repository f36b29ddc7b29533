"""SqlTaskStore: the task store port (axis/tasks/ports.py) over SQLAlchemy Core, on the
route store's engine so that one transaction holds the task rows, the journal entries
(`route`, a SqlRouteTx on the same connection) and the cursor.

Concurrency. The tracker's and the reminder job's cursor rows are taken FOR UPDATE SKIP
LOCKED on PostgreSQL: a second worker finds the row locked and skips its pass instead of
applying the same events; on SQLite every write transaction already holds the database
lock from BEGIN IMMEDIATE (route_repo.serialise_sqlite_writes). Task rows carry a
version: a change written over another that committed meanwhile (an Office action racing
the tracker) is `store.conflict`, never a lost update.

SQLAlchemy exceptions are translated here (route_repo.guarded / translate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from adapters.store import route_journal, task_codec
from adapters.store.route_repo import READ_ONLY, SqlRouteTx, guarded, translate
from adapters.store.route_repo import serialise_sqlite_writes as _serialise
from adapters.store.task_tables import (
    task_cursors,
    task_history,
    task_parties,
    task_reminders,
    tasks,
)
from axis import errors
from axis.journal.chain import JournalEntry
from axis.tasks.lifecycle import Action, Task, TaskState, Transition
from axis.tasks.ports import MAX_LIST, Cursor, HistoryEntry, TaskFilter, Versioned

_REMINDABLE = (TaskState.ASSIGNED.value, TaskState.RECEIVED.value)


def _insert_ignore(dialect: str, table: Any) -> Any:
    make: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    return make(table)


class SqlTaskTx:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name
        self._route = SqlRouteTx(conn)

    @property
    def route(self) -> SqlRouteTx:
        return self._route

    # --- cursors ------------------------------------------------------------------
    @guarded
    def take_cursor(self, name: str) -> Cursor | None:
        q = (select(task_cursors).where(task_cursors.c.name == name)
             .with_for_update(skip_locked=True))
        row = self._conn.execute(q).first()
        if row is None:
            stmt = _insert_ignore(self._dialect, task_cursors).values(
                name=name, seq=0, at=None).on_conflict_do_nothing(index_elements=["name"])
            self._conn.execute(stmt)  # a concurrent first insert waits for the other
            row = self._conn.execute(q).first()
            if row is None:
                return None
        return Cursor(row.name, int(row.seq), row.at)

    @guarded
    def move_cursor(self, name: str, *, seq: int | None = None,
                    at: datetime | None = None) -> None:
        values: dict[str, Any] = {}
        if seq is not None:
            values["seq"] = seq
        if at is not None:
            values["at"] = at
        if values:
            self._conn.execute(update(task_cursors).where(task_cursors.c.name == name)
                               .values(**values))

    @guarded
    def sealed_through(self) -> int:
        return route_journal.head(self._conn).seq

    @guarded
    def journal_page(self, after: int, upto: int, limit: int) -> list[JournalEntry]:
        return [e for e in route_journal.page(self._conn, after, limit) if e.seq <= upto]

    # --- tasks --------------------------------------------------------------------
    def _load(self, q: Select[Any], for_update: bool) -> list[Versioned]:
        if for_update:
            q = q.with_for_update()
        rows = list(self._conn.execute(q))
        steps = self._steps([r.code for r in rows])
        return [Versioned(replace(task_codec.loads(r.record),
                                  history=tuple(h.step for h in steps[r.code])),
                          int(r.version)) for r in rows]

    def _steps(self, codes: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        out: dict[str, list[HistoryEntry]] = defaultdict(list)
        h = task_history.c
        for i in range(0, len(codes), 500):
            q = (select(task_history).where(h.code.in_(codes[i:i + 500]))
                 .order_by(h.code, h.id))
            for r in self._conn.execute(q):
                out[r.code].append(HistoryEntry(Transition(
                    at=r.at, action=Action(r.action), actor=r.actor,
                    before=TaskState(r.before) if r.before else None,
                    after=TaskState(r.after), document_id=r.document_id, reason=r.reason,
                    deadline=r.deadline), by=r.by, journal_seq=r.journal_seq))
        return out

    @guarded
    def task(self, code: str, *, for_update: bool = False) -> Versioned | None:
        found = self._load(select(tasks).where(tasks.c.code == code), for_update)
        return found[0] if found else None

    @guarded
    def tasks(self, codes: Collection[str], *, for_update: bool = False
              ) -> dict[str, Versioned]:
        if not codes:
            return {}
        q = select(tasks).where(tasks.c.code.in_(sorted(codes))).order_by(tasks.c.code)
        return {v.task.code: v for v in self._load(q, for_update)}

    @guarded
    def tasks_of_document(self, office: str, document_id: str, *,
                          for_update: bool = False) -> list[Versioned]:
        t = tasks.c
        q = (select(tasks).where(t.office == office, t.document_id == document_id)
             .order_by(t.code))
        return self._load(q, for_update)

    @guarded
    def add_task(self, task: Task) -> bool:
        stmt = (_insert_ignore(self._dialect, tasks).values(**self._row(task), version=1)
                .on_conflict_do_nothing(index_elements=["code"]).returning(tasks.c.code))
        if self._conn.execute(stmt).first() is None:
            return False
        self._conn.execute(task_parties.insert(), [
            {"code": task.code, "agency_id": task.lead.organ_id, "role": "lead"},
            *({"code": task.code, "agency_id": s.organ_id, "role": "supporting"}
              for s in task.supporting if s.organ_id != task.lead.organ_id)])
        return True

    @guarded
    def save_task(self, task: Task, version: int) -> int:
        t = tasks.c
        done = self._conn.execute(
            update(tasks).where(t.code == task.code, t.version == version)
            .values(**self._row(task), version=version + 1).returning(t.version)).first()
        if done is None:
            raise errors.STORE_CONFLICT.error(
                f"task {task.code} changed meanwhile (version {version})")
        return version + 1

    @staticmethod
    def _row(task: Task) -> dict[str, Any]:
        return {"code": task.code, "document_id": task.document_id, "office": task.office,
                "lead": task.lead.organ_id, "officer": task.follower.name,
                "content": task.content, "deadline": task.deadline,
                "state": task.state.value, "assigned_at": task.assigned_at,
                "completed_at": task.completed_at, "record": task_codec.dumps(task)}

    @guarded
    def add_history(self, code: str, steps: Sequence[Transition], *, by: str = "",
                    journal_seqs: Sequence[int | None] = ()) -> None:
        seqs = list(journal_seqs) + [None] * (len(steps) - len(journal_seqs))
        if steps:
            self._conn.execute(task_history.insert(), [
                {"code": code, "at": s.at, "action": s.action.value, "actor": s.actor,
                 "by": by, "before": s.before.value if s.before else None,
                 "after": s.after.value, "document_id": s.document_id, "reason": s.reason,
                 "deadline": s.deadline, "journal_seq": seq}
                for s, seq in zip(steps, seqs, strict=True)])

    @guarded
    def history(self, code: str) -> list[HistoryEntry]:
        return self._steps([code]).get(code, [])

    def _where(self, f: TaskFilter) -> list[Any]:
        t = tasks.c
        out: list[Any] = []
        if f.agency:
            out.append(t.code.in_(select(task_parties.c.code)
                                  .where(task_parties.c.agency_id == f.agency)))
        for col, value in ((t.lead, f.lead), (t.office, f.office),
                           (t.officer, f.officer), (t.document_id, f.document_id)):
            if value:
                out.append(col == value)
        if f.state is not None:
            out.append(t.state == f.state.value)
        if f.deadline_from is not None:
            out.append(t.deadline >= f.deadline_from)
        if f.deadline_to is not None:
            out.append(t.deadline <= f.deadline_to)
        return out

    @guarded
    def find(self, f: TaskFilter) -> list[Task]:
        t = tasks.c
        q = (select(tasks).where(and_(True, *self._where(f)))
             .order_by(t.deadline, t.code)
             .offset(max(0, f.offset)).limit(max(0, min(f.limit, MAX_LIST))))
        return [v.task for v in self._load(q, False)]

    @guarded
    def count(self, f: TaskFilter) -> int:
        q = select(func.count()).select_from(tasks).where(and_(True, *self._where(f)))
        return int(self._conn.execute(q).scalar_one())

    @guarded
    def open_for_reminders(self) -> list[Task]:
        q = select(tasks).where(tasks.c.state.in_(_REMINDABLE)).order_by(tasks.c.code)
        return [v.task for v in self._load(q, False)]

    @guarded
    def tasks_for_report(self, start: datetime, end: datetime) -> list[Task]:
        t = tasks.c
        q = (select(tasks).where(t.assigned_at < end,
                                 or_(t.completed_at.is_(None), t.completed_at >= start))
             .order_by(t.code))
        return [v.task for v in self._load(q, False)]

    # --- reminders ----------------------------------------------------------------
    @guarded
    def claim_reminder(self, code: str, key: str, *, at: datetime,
                       sent_at: datetime) -> int | None:
        stmt = (_insert_ignore(self._dialect, task_reminders)
                .values(code=code, reminder=key, at=at, sent_at=sent_at, document_id="")
                .on_conflict_do_nothing(index_elements=["code", "reminder"])
                .returning(task_reminders.c.id))
        row = self._conn.execute(stmt).first()
        return int(row.id) if row is not None else None

    @guarded
    def set_reminder_document(self, number: int, document_id: str) -> None:
        self._conn.execute(update(task_reminders).where(task_reminders.c.id == number)
                           .values(document_id=document_id))

    @guarded
    def reminders_of(self, code: str) -> list[tuple[str, datetime, str]]:
        r = task_reminders.c
        rows = self._conn.execute(select(r.reminder, r.sent_at, r.document_id)
                                  .where(r.code == code).order_by(r.id))
        return [(row.reminder, row.sent_at, row.document_id) for row in rows]


class SqlTaskStore:
    """TaskStore over the route store's engine (adapters/node.py passes it)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        _serialise(engine)

    @contextmanager
    def transaction(self) -> Iterator[SqlTaskTx]:
        try:
            with self._engine.begin() as conn:
                yield SqlTaskTx(conn)
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    @contextmanager
    def reading(self) -> Iterator[SqlTaskTx]:
        """Read-only: a deferred BEGIN on SQLite, so lists never queue behind writers."""
        try:
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn, \
                    conn.begin():
                yield SqlTaskTx(conn)
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    def tasks_for_report(self, start: datetime, end: datetime) -> list[Task]:
        """Every task a report of [start, end) may count, with its history: assigned
        before `end`, not completed before `start` (axis/tasks/report.py classifies)."""
        with self.reading() as tx:
            return tx.tasks_for_report(start, end)
