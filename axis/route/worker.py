"""The node's delivery loop: relay the outbox to the broker, move broker messages into
inboxes. `run_once` does one pass (tests drive it directly); `run` repeats until stopped,
waking early when a submission signals new work, backing off while idle.

Every step it takes is idempotent, so several workers (threads or node processes sharing
the database and the broker) can run at once: SKIP LOCKED spreads the outbox between them
and delivery ids keep inbox writes single.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from axis.errors import AxisError
from axis.route.exchange import Exchange

log = logging.getLogger("axis.worker")


@dataclass(slots=True)
class Worker:
    exchange: Exchange
    agencies: Callable[[], Iterable[str]]  # whose queues the node consumes (pull mode)
    batch: int = 500
    idle_min_s: float = 0.05
    idle_max_s: float = 1.0
    wake: threading.Event = field(default_factory=threading.Event)
    relayed: int = 0  # outbox entries published by the last pass

    def run_once(self) -> int:
        """One pass: relay until the outbox is empty, then drain every consumed queue.
        Returns how many deliveries reached an inbox."""
        self.relayed = 0
        while (n := self.exchange.relay_once(self.batch)) > 0:
            self.relayed += n
        moved = 0
        for agency_id in self.agencies():
            while (n := self.exchange.consume_once(agency_id, self.batch)) > 0:
                moved += n
        return moved

    def run(self, stop: threading.Event) -> None:
        idle = self.idle_min_s
        while not stop.is_set():
            try:
                busy = self.run_once() > 0 or self.relayed > 0
            except AxisError as exc:  # broker or database away: retried, never fatal
                log.warning("delivery pass failed: %s", exc)
                busy = False
            idle = self.idle_min_s if busy else min(idle * 2, self.idle_max_s)
            if self.wake.wait(0 if busy else idle):
                self.wake.clear()
