"""Heartbeats of the node's background work: loops (delivery, push) and scheduled jobs
(CRL refresh, reconciliation …), and the guard every loop pass runs under.

Why: a background thread that dies, or hangs, delivers nothing while the HTTP edge keeps
answering. Each loop and job therefore reports here: `beat` after every completed pass,
`failed` after a failed one. `status(now)` then says, for each, whether it is

- `alive`: its thread (when it has one) runs and it completed a pass within its
  expected period;
- `late`: no completed pass within the expected period (hung, or failing every time);
- `dead`: its thread has ended.

The registry is plain data behind a lock, read by the health endpoints and the metrics
(adapters), fed by the loops from their own threads. Times come from the caller (the
node's clock), so tests move a fixed clock instead of sleeping.

Several processes (issue 9: `axis serve --no-background` next to `axis worker`): each
publishes its registry's snapshot to the database (adapters/jobs/fleet.py), and `merge`
makes one view of a loop or job out of every live process's: alive when some process runs
it alive, and `dead` when no live process runs a loop or job the node needs at all.

`LoopGuard` runs one pass of a loop: any exception is caught (a background loop must never
die of one), logged with an error id, recorded here, and answered with a back-off. A run of
identical failures is one incident with one error id: the log line of its first occurrence
carries the id the health endpoint shows, and the repeats carry the same id and a
`rate_key`, so the log pipeline keeps one line per interval with a count
(adapters/logs/ratelimit.py). The end of the incident is logged with how many passes failed.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from axis.errors import AxisError

T = TypeVar("T")


class Liveness(StrEnum):
    ALIVE = "alive"
    LATE = "late"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Beat:
    """What the registry knows of one loop or job (a snapshot; `status` fills `state`)."""

    name: str
    kind: str  # "loop" or "job"
    expected_every: timedelta | None  # None: never late (only dead, when it has a thread)
    registered_at: datetime
    last_success: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""
    last_error_id: str = ""
    failures: int = 0  # failed passes since start
    consecutive_failures: int = 0
    state: Liveness = Liveness.ALIVE


class Heartbeats:
    """Thread-safe registry of loops and jobs, by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._beats: dict[str, Beat] = {}
        self._alive: dict[str, Callable[[], bool]] = {}

    def register(
        self, name: str, *, kind: str, expected_every: timedelta | None, at: datetime,
        alive: Callable[[], bool] | None = None,
    ) -> None:
        """(Re)start watching `name`: its expected period counts from `at`. `alive`: a
        probe of its thread (`Thread.is_alive`), checked at every `status`."""
        with self._lock:
            self._beats[name] = Beat(name, kind, expected_every, at)
            if alive is None:
                self._alive.pop(name, None)
            else:
                self._alive[name] = alive

    def beat(self, name: str, at: datetime) -> None:
        """A pass of `name` completed at `at`."""
        with self._lock:
            b = self._get(name, at)
            self._beats[name] = replace(b, last_success=at, consecutive_failures=0)

    def failed(self, name: str, at: datetime, error: str, error_id: str) -> None:
        """A pass of `name` failed at `at` (`error`: one line; `error_id`: in the log)."""
        with self._lock:
            b = self._get(name, at)
            self._beats[name] = replace(
                b, last_error_at=at, last_error=error[:500], last_error_id=error_id,
                failures=b.failures + 1, consecutive_failures=b.consecutive_failures + 1)

    def status(self, now: datetime) -> tuple[Beat, ...]:
        """Every loop and job, by name, with its state at `now`."""
        with self._lock:
            beats = sorted(self._beats.values(), key=lambda b: b.name)
            probes = dict(self._alive)
        return tuple(replace(b, state=_state(b, probes.get(b.name), now)) for b in beats)

    def _get(self, name: str, at: datetime) -> Beat:
        # A loop that reports without registering is watched from then on, never late.
        return self._beats.get(name) or Beat(name, "loop", None, at)


_RANK = {Liveness.ALIVE: 0, Liveness.LATE: 1, Liveness.DEAD: 2}


def merge(own: Sequence[Beat], others: Sequence[Beat], *, needed: Iterable[tuple[str, str]],
          now: datetime) -> tuple[Beat, ...]:
    """One beat per name out of this process's (`own`, states already judged) and other
    live processes' (`others`, judged here again at `now`: a loop that stopped beating
    in a process that still reports is late). The best state wins (one worker running
    the delivery loop is enough), failures add up; a `needed` (name, kind) that no
    process runs is dead."""
    best: dict[str, Beat] = {}
    for b in [*own, *(replace(o, state=_seen_state(o, now)) for o in others)]:
        held = best.get(b.name)
        if held is None:
            best[b.name] = b
            continue
        winner = b if (_RANK[b.state], -_ts(b.last_success)) < (
            _RANK[held.state], -_ts(held.last_success)) else held
        best[b.name] = replace(winner, failures=held.failures + b.failures)
    for name, kind in needed:
        if name not in best:
            best[name] = Beat(name, kind, None, now, last_error="no live process runs it",
                              state=Liveness.DEAD)
    return tuple(best[n] for n in sorted(best))


def _ts(at: datetime | None) -> float:
    return at.timestamp() if at is not None else float("-inf")


def _seen_state(b: Beat, now: datetime) -> Liveness:
    """Another process's beat: dead as it said, else late by its period at `now`."""
    if b.state is Liveness.DEAD:
        return Liveness.DEAD
    return _state(b, None, now)


def _state(b: Beat, alive: Callable[[], bool] | None, now: datetime) -> Liveness:
    if alive is not None and not alive():
        return Liveness.DEAD
    since = b.last_success or b.registered_at
    if b.expected_every is not None and now - since > b.expected_every:
        return Liveness.LATE
    return Liveness.ALIVE


@dataclass(frozen=True, slots=True)
class PassOutcome(Generic[T]):
    """One guarded pass: its value, or the failure and how long to wait before the next."""

    value: T | None = None
    failed: bool = False
    retry_after_s: float = 0.0


class LoopGuard:
    """Runs the passes of one loop: catches, logs, records, backs off.

    Back-off after a failed pass doubles from `min_s` up to a ceiling: `transient_max_s`
    for the node's own expected faults (`AxisError`: broker or database away, back soon),
    `max_s` for anything else (a bug, which retrying fast would only repeat).
    """

    def __init__(
        self, name: str, *, now: Callable[[], datetime], log: logging.Logger,
        health: Heartbeats | None = None, min_s: float = 0.5, transient_max_s: float = 5.0,
        max_s: float = 60.0, new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.name = name
        self._now, self._log, self._health, self._new_id = now, log, health, new_id
        self._min_s, self._transient_max_s, self._max_s = min_s, transient_max_s, max_s
        self._wait_s = 0.0
        self._incident: tuple[str, str] | None = None  # (key, error id) of the failure run
        self._failed_passes = 0

    def run_pass(self, step: Callable[[], T]) -> PassOutcome[T]:
        try:
            value = step()
        except Exception as exc:  # the point: no exception ends the loop
            return self._failed(exc)
        if self._health is not None:
            self._health.beat(self.name, self._now())
        if self._incident is not None:
            self._log.warning(
                "%s recovered after %d failed passes", self.name, self._failed_passes,
                extra={"task": self.name, "error_id": self._incident[1],
                       "failed_passes": self._failed_passes})
        self._incident, self._failed_passes, self._wait_s = None, 0, 0.0
        return PassOutcome(value)

    def _failed(self, exc: Exception) -> PassOutcome[T]:
        expected = isinstance(exc, AxisError)
        code = exc.code.id if isinstance(exc, AxisError) else "node.internal"
        key = f"{code}:{type(exc).__qualname__}"
        if self._incident is None or self._incident[0] != key:
            given = exc.error_id if isinstance(exc, AxisError) else None
            self._incident = (key, given or self._new_id())
        error_id = self._incident[1]
        self._failed_passes += 1
        ceiling = self._transient_max_s if expected else self._max_s
        self._wait_s = min(ceiling, max(self._min_s, self._wait_s * 2))
        extra = {"task": self.name, "code": code, "error_id": error_id,
                 "rate_key": f"task:{self.name}:{key}", "retry_after_s": self._wait_s}
        if expected:
            self._log.warning("%s pass failed: %s", self.name, exc, extra=extra)
        else:  # a defect: the traceback is what the operator needs
            self._log.error("%s pass failed unexpectedly: %s: %s", self.name,
                            type(exc).__name__, exc, exc_info=exc, extra=extra)
        if self._health is not None:
            self._health.failed(self.name, self._now(), f"{code}: {exc}", error_id)
        return PassOutcome(None, failed=True, retry_after_s=self._wait_s)
