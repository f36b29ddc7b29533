"""What task tracking needs of a store (implemented by adapters/store/task_repo.py).

One `TaskTx` is one database transaction that also carries the route store's (`route`):
the tracker writes a task's rows, its `task.*` journal entries and its cursor's advance
together, and the reminder job records a reminder and queues its notice together, so a
crash leaves all of it or none of it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from axis.journal.chain import JournalEntry
from axis.route.ports import RouteTx
from axis.tasks.lifecycle import Task, TaskState, Transition

MAX_LIST = 1000


@dataclass(frozen=True, slots=True)
class Versioned:
    """A stored task and its row version (bumped by every change)."""

    task: Task
    version: int


@dataclass(frozen=True, slots=True)
class Cursor:
    name: str
    seq: int  # the last journal entry read (the tracker)
    at: datetime | None  # the last instant looked at (the reminder job)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One transition as stored: who acted for the Office (`by`, an administrator's name;
    empty for what came from the traffic) and the journal entry recording it."""

    step: Transition
    by: str = ""
    journal_seq: int | None = None


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """`agency`: lead or supporting; the deadline window is inclusive on both ends."""

    agency: str | None = None
    lead: str | None = None
    office: str | None = None
    state: TaskState | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    officer: str | None = None
    document_id: str | None = None
    offset: int = 0
    limit: int = 100


class TaskTx(Protocol):
    @property
    def route(self) -> RouteTx: ...

    # --- cursors (one worker at a time) ---------------------------------------------
    def take_cursor(self, name: str) -> Cursor | None:
        """The cursor, locked until the transaction ends; None when another transaction
        holds it (that worker is doing this pass)."""
        ...

    def move_cursor(self, name: str, *, seq: int | None = None,
                    at: datetime | None = None) -> None: ...

    def sealed_through(self) -> int:
        """The journal's seal head: every entry up to it is committed and final."""
        ...

    def journal_page(self, after: int, upto: int, limit: int) -> list[JournalEntry]: ...

    # --- tasks ----------------------------------------------------------------------
    def task(self, code: str, *, for_update: bool = False) -> Versioned | None: ...

    def tasks(self, codes: Collection[str], *, for_update: bool = False
              ) -> dict[str, Versioned]: ...

    def tasks_of_document(self, office: str, document_id: str, *,
                          for_update: bool = False) -> list[Versioned]: ...

    def add_task(self, task: Task) -> bool:
        """False when a task with that code exists (nothing written)."""
        ...

    def save_task(self, task: Task, version: int) -> int:
        """Write the changed task if its row is still at `version` (else
        `store.conflict`); the new version."""
        ...

    def add_history(self, code: str, steps: Sequence[Transition], *, by: str = "",
                    journal_seqs: Sequence[int | None] = ()) -> None: ...

    def history(self, code: str) -> list[HistoryEntry]: ...

    def find(self, f: TaskFilter) -> list[Task]: ...

    def count(self, f: TaskFilter) -> int: ...

    def open_for_reminders(self) -> list[Task]:
        """Tasks a reminder may still concern (assigned or received)."""
        ...

    def tasks_for_report(self, start: datetime, end: datetime) -> list[Task]:
        """Every task a report of [start, end) may count: assigned before `end` and not
        completed before `start` (with their history)."""
        ...

    # --- reminders ------------------------------------------------------------------
    def claim_reminder(self, code: str, key: str, *, at: datetime,
                       sent_at: datetime) -> int | None:
        """Record a reminder as sent; its number, or None when it already was."""
        ...

    def set_reminder_document(self, number: int, document_id: str) -> None: ...

    def reminders_of(self, code: str) -> list[tuple[str, datetime, str]]:
        """(key, sent_at, notice document id) of a task's reminders."""
        ...


class TaskStore(Protocol):
    def transaction(self) -> AbstractContextManager[TaskTx]: ...

    def reading(self) -> AbstractContextManager[TaskTx]: ...

    def tasks_for_report(self, start: datetime, end: datetime) -> list[Task]:
        """`TaskTx.tasks_for_report` in a read-only transaction of its own."""
        ...
