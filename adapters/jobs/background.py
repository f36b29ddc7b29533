"""The background of one server process: loop threads and the job scheduler, started and
stopped together (the app's lifespan), each watched by the health registry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from adapters.jobs.catalog import Loop, node_jobs, node_loops
from adapters.jobs.scheduler import Job, NodeScheduler
from adapters.node import Node
from axis.clock import Clock
from axis.health import Heartbeats, LoopGuard
from axis.settings import Settings

log = logging.getLogger("axis.jobs")
JOIN_SECONDS = 10.0


class Background:
    def __init__(
        self, node: Node, *, health: Heartbeats, clock: Clock, settings: Settings | None = None,
        loops: Sequence[Loop] | None = None, jobs: Sequence[Job] | None = None,
    ) -> None:
        self._node, self._health, self._clock = node, health, clock
        self.loops = list(node_loops(node, settings) if loops is None else loops)
        self.scheduler = NodeScheduler(node_jobs(node) if jobs is None else jobs,
                                       health=health, clock=clock)
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
