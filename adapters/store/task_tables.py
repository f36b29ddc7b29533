"""Tables of the tasks tracked from the traffic (issue 12; migration 0014_tasks;
adapters/store/task_repo.py).

- `tasks`: one row per task (Art. 13.1), the columns that lists filter on, plus `record`,
  the canonical JSON of the whole value (replies, extensions, refusals) and `version`,
  bumped by every change (a concurrent change of the same task is a conflict, not a
  lost update);
- `task_parties`: the lead and each supporting agency of a task, so "an agency's own
  tasks" is one indexed lookup on both backends;
- `task_history`: one row per transition (axis/tasks/lifecycle.py `Transition`), with
  `by`, the person who acted for the Office through the admin API, and the journal entry
  that records it;
- `task_cursors`: how far the tracker has read the journal (`seq`) and up to which
  instant the reminder job has looked (`at`); the row is locked by the one worker that
  advances it;
- `task_reminders`: each reminder sent, once per (task, reminder key), ever; its serial
  `id` is the notice's number in the node's reminder register.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from adapters.store.db import metadata
from adapters.store.route_tables import Instant, Serial

tasks = Table(
    "tasks", metadata,
    Column("code", String(64), nullable=False),
    Column("document_id", String, nullable=False),  # the assigning document
    Column("office", String, nullable=False),  # its issuer: the Office that follows it
    Column("lead", String, nullable=False),
    Column("officer", String, nullable=False),  # the following officer's name
    Column("content", Text, nullable=False),
    Column("deadline", Date, nullable=False),  # the one in force
    Column("state", String(24), nullable=False),
    Column("assigned_at", Instant(), nullable=False),
    Column("completed_at", Instant(), nullable=True),
    Column("version", Integer, nullable=False),
    Column("record", Text, nullable=False),
    PrimaryKeyConstraint("code"),
    Index("ix_tasks_document", "office", "document_id"),
    Index("ix_tasks_deadline", "deadline"),
    Index("ix_tasks_assigned", "assigned_at"),
)

task_parties = Table(
    "task_parties", metadata,
    Column("code", String(64), nullable=False),
    Column("agency_id", String, nullable=False),
    Column("role", String(16), nullable=False),  # lead | supporting
    PrimaryKeyConstraint("code", "agency_id"),
    Index("ix_task_parties_agency", "agency_id"),
)

task_history = Table(
    "task_history", metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False),
    Column("at", Instant(), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String, nullable=False),
    Column("by", String, nullable=False),
    Column("before", String(24), nullable=True),
    Column("after", String(24), nullable=False),
    Column("document_id", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("deadline", Date, nullable=True),
    Column("journal_seq", BigInteger, nullable=True),
    Index("ix_task_history_code", "code", "id"),
    sqlite_autoincrement=True,
)

task_cursors = Table(
    "task_cursors", metadata,
    Column("name", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", Instant(), nullable=True),
    PrimaryKeyConstraint("name"),
)

task_reminders = Table(
    "task_reminders", metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False),
    Column("reminder", String(64), nullable=False),  # kind:deadline:offset
    Column("at", Instant(), nullable=False),  # the reminder's instant
    Column("sent_at", Instant(), nullable=False),
    Column("document_id", String, nullable=False),  # the notice
    UniqueConstraint("code", "reminder", name="uq_task_reminders"),
    sqlite_autoincrement=True,
)

TASK_TABLES = (tasks, task_parties, task_history, task_cursors, task_reminders)
