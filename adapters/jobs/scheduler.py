"""Periodic jobs on APScheduler (3.x, a background thread): `Job` says what and how often,
`NodeScheduler` runs them.

A job is a function of the node clock's time. Each run goes through the same guard as the
loops (axis/health.py): an exception is logged with an error id and recorded as the job's
last error; a run that returns is its last success. Both show on /readyz,
/health/delivery and /metrics. APScheduler only decides *when*; it never sees an
exception (its own logging of failed jobs would say less).

Runs of one job never overlap (`max_instances=1`) and missed runs are coalesced into one:
a node that was stopped for a day refreshes its CRLs once on start, not four times.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from axis.clock import Clock
from axis.health import Heartbeats, LoopGuard

log = logging.getLogger("axis.jobs")


@dataclass(frozen=True, slots=True)
class Job:
    """`fn(at)` runs every `interval` (raise to fail). The job is late when it has not
    succeeded for `expected_every` (default: two intervals, one run missed)."""

    name: str
    interval: timedelta
    fn: Callable[[datetime], None]
    expected_every: timedelta | None = None
    at_start: bool = False  # also run once as soon as the scheduler starts
    # Runs in every process, HTTP-only ones included (`axis serve --no-background`), not
    # only where the loops run: e.g. CRL refresh, since every process verifies signatures.
    every_process: bool = False

    @property
    def late_after(self) -> timedelta:
        return self.expected_every or 2 * self.interval


class NodeScheduler:
    def __init__(self, jobs: Sequence[Job], *, health: Heartbeats, clock: Clock) -> None:
        names = [j.name for j in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.jobs = {j.name: j for j in jobs}
        self._health, self._clock = health, clock
        self._guards = {j.name: LoopGuard(j.name, now=clock.now, log=log, health=health)
                        for j in jobs}
        self._locks = {j.name: threading.Lock() for j in jobs}
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        at = self._clock.now()
        for job in self.jobs.values():
            self._health.register(job.name, kind="job", expected_every=job.late_after,
                                  at=at, alive=lambda: self.running)
            # next_run_time=None would add the job paused: only pass it to run at once.
            first: dict[str, datetime] = (
                {"next_run_time": datetime.now(UTC)} if job.at_start else {})
            self._scheduler.add_job(self._run, "interval", args=(job.name,), id=job.name,
                                    seconds=job.interval.total_seconds(),
                                    replace_existing=True, **first)
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def trigger(self, name: str) -> None:
        """Run `name` now on the scheduler's thread (then on its interval again)."""
        if name not in self.jobs:
            raise KeyError(name)
        self._scheduler.modify_job(name, next_run_time=datetime.now(UTC))

    def _run(self, name: str) -> bool:
        job = self.jobs[name]
        with self._locks[name]:
            outcome = self._guards[name].run_pass(lambda: job.fn(self._clock.now()))
        return not outcome.failed
