"""The background of one node process: loop threads and the job scheduler, started and
stopped together (the app's lifespan, or `axis worker`), each watched by the health
registry.

What a process runs depends on its role (issue 9, docs/deployment.md):

- `all`: `axis serve` as it always was, HTTP and every loop and job in one process;
- `worker`: `axis worker`, every loop and job, no HTTP;
- `http`: `axis serve --no-background`, only the jobs every process needs
  (`Job.every_process`: CRL refresh, since this process verifies signatures).

With a `Fleet` (adapters/jobs/fleet.py), a job publishes this process's heartbeats every
few seconds, so that any process's /health/delivery and /metrics see every process's
loops and jobs; they are withdrawn when the background stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from adapters.jobs.catalog import CHECKPOINT_JOB, Loop, node_jobs, node_loops
from adapters.jobs.fleet import PUBLISH_EVERY, Fleet
from adapters.jobs.scheduler import Job, NodeScheduler
from adapters.node import Node
from axis.clock import Clock
from axis.health import Heartbeats, LoopGuard
from axis.settings import Settings

log = logging.getLogger("axis.jobs")
JOIN_SECONDS = 10.0
ROLES = ("all", "worker", "http")
PUBLISH_JOB = "node.heartbeats"


class Background:
    def __init__(
        self, node: Node, *, health: Heartbeats, clock: Clock, settings: Settings | None = None,
        loops: Sequence[Loop] | None = None, jobs: Sequence[Job] | None = None,
        role: str = "all", fleet: Fleet | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}: {role!r}")
        self._node, self._health, self._clock, self._fleet = node, health, clock, fleet
        loops_here = node_loops(node, settings) if role != "http" else []
        jobs_here = [j for j in node_jobs(node) if role != "http" or j.every_process]
        self.loops = list(loops_here if loops is None else loops)
        chosen = list(jobs_here if jobs is None else jobs)
        if fleet is not None:
            chosen.append(Job(PUBLISH_JOB, PUBLISH_EVERY, _publisher(fleet), at_start=True))
        self.scheduler = NodeScheduler(chosen, health=health, clock=clock)
        # Where the checkpoint job runs, one more checkpoint when the process stops cleanly.
        self._final_checkpoint = next(
            (j.fn for j in chosen if j.name == CHECKPOINT_JOB), None)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for loop in self.loops:
            guard = LoopGuard(loop.name, now=self._clock.now, health=self._health,
                              log=logging.getLogger(f"axis.{loop.name}"))
            thread = threading.Thread(target=loop.run, args=(self._stop, guard),
                                      name=f"axis-{loop.name}", daemon=True)
            self._health.register(loop.name, kind="loop", expected_every=loop.expected_every,
                                  at=self._clock.now(), alive=thread.is_alive)
            self._threads.append(thread)
            thread.start()
        self.scheduler.start()

    def stop(self) -> None:
        self._stop.set()
        self._node.worker.wake.set()
        self.scheduler.shutdown()
        for thread in self._threads:
            thread.join(timeout=JOIN_SECONDS)
            if thread.is_alive():
                log.warning("%s did not stop within %.0f s", thread.name, JOIN_SECONDS)
        self._checkpoint_at_stop()
        if self._fleet is not None:
            self._fleet.withdraw()  # other processes see at once that these loops stopped

    def _checkpoint_at_stop(self) -> None:
        """Best effort (issue 11): what was sealed up to the stop is vouched for; a
        failure is logged, never raised, so a stop always completes."""
        if self._final_checkpoint is None:
            return
        try:
            self._final_checkpoint(self._clock.now())
            log.info("journal checkpoint taken at shutdown")
        except Exception:
            log.exception("journal checkpoint at shutdown failed")


def _publisher(fleet: Fleet) -> Callable[[datetime], None]:
    return fleet.publish
