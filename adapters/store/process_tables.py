"""Tables of the node's processes (issue 9, item 3): the heartbeats every process
publishes, and the push loop's attempt budget.

Both exist because several processes share one database: an HTTP process must see whether
some worker process runs the delivery loop (`process_heartbeats`), and a push attempt
count must survive a worker's restart and be claimed by one worker at a time
(`push_attempts`), not live in one process's memory.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, PrimaryKeyConstraint, String, Table

from adapters.store.db import metadata
from adapters.store.route_tables import Instant

# One row per (process, loop or job): the process's own view of it (axis/health.py),
# rewritten every few seconds; rows of a process that stopped reporting age out.
process_heartbeats = Table(
    "process_heartbeats", metadata,
    Column("process_id", String(128), nullable=False),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # serve, worker
    Column("kind", String(8), nullable=False),  # loop, job
    Column("state", String(8), nullable=False),  # alive, late, dead (as the process saw it)
    Column("expected_every_s", Float(), nullable=True),
    Column("registered_at", Instant(), nullable=False),
    Column("last_success", Instant(), nullable=True),
    Column("last_error_at", Instant(), nullable=True),
    Column("last_error", String(500), nullable=False),
    Column("last_error_id", String(64), nullable=False),
    Column("failures", Integer(), nullable=False),
    Column("reported_at", Instant(), nullable=False),
    PrimaryKeyConstraint("process_id", "name"),
)

# One row per push-mode delivery that was attempted at least once: how many attempts it
# has used and when the next may start. A claim moves `next_attempt_at` forward before
# the POST, so a second worker does not push the same copy meanwhile.
push_attempts = Table(
    "push_attempts", metadata,
    Column("delivery_id", String(64), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", Instant(), nullable=False),
    Column("last_error", String(300), nullable=False),
    PrimaryKeyConstraint("delivery_id"),
)
