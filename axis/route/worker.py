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
from datetime import datetime, timedelta

from axis.health import LoopGuard
from axis.route import reconcile
from axis.route.exchange import Exchange
from axis.route.handover import Handover

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
    # The embedded default: no broker holds anything, the outbox is the queue and a pass
    # moves its entries straight into the inboxes (Handover.deliver_direct).
    direct: bool = False
    reconcile_after: timedelta = timedelta(minutes=5)
    reconcile_limit: int = 1000
    # Chains the journal's committed entries after each pass (the store's sealer: safe in
    # every process at once, a read when there is nothing to seal). Its verdict on a
    # broken journal is the `journal.seal` job's to report: delivery goes on regardless.
    seal: Callable[[datetime], object] | None = None
    # The hand-over (axis/route/handover.py), over the exchange's store, broker and clock.
    handover: Handover = field(init=False)

    def __post_init__(self) -> None:
        self.handover = Handover(self.exchange.store, self.exchange.broker,
                                 self.exchange.clock)

    def run_once(self) -> int:
        """One pass: relay until the outbox is empty, then drain every consumed queue,
        then seal the journal. Returns how many deliveries reached an inbox."""
        moved = self._deliver()
        if self.seal is not None:
            self.seal(self.exchange.clock.now())
        return moved

    def _deliver(self) -> int:
        self.relayed = 0
        if self.direct:
            while (n := self.handover.deliver_direct(self.batch)) > 0:
                self.relayed += n
            return self.relayed
        while (n := self.handover.relay_once(self.batch)) > 0:
            self.relayed += n
        moved = 0
        for agency_id in self.agencies():
            while (n := self.handover.consume_once(agency_id, self.batch)) > 0:
                moved += n
        return moved

    def consumed(self) -> frozenset[str] | None:
        """Agencies whose copies the node moves into inboxes; None on the embedded
        default, where that is every agency (nothing else could consume its outbox)."""
        return None if self.direct else frozenset(self.agencies())

    def stranded(self, now: datetime) -> int:
        """Deliveries accepted more than `reconcile_after` ago and in no inbox yet."""
        return reconcile.stranded(self.exchange.store, now, after=self.reconcile_after,
                                  consumed=self.consumed())

    def reconcile(self, now: datetime | None = None) -> reconcile.ReconcileReport:
        """The reconciliation pass (axis/route/reconcile.py): at start and scheduled."""
        at = now or self.exchange.clock.now()
        report = reconcile.reconcile(
            self.exchange.store, at, after=self.reconcile_after, limit=self.reconcile_limit,
            consumed=self.consumed(),
            waiting=(lambda _agency: 0) if self.direct else self.exchange.broker.depth,
            republish=self.exchange.republish, emit_arrival=self.exchange.emit_arrival)
        if report.republished or report.arrivals:
            log.warning("reconciliation: %d deliveries republished, %d arrival statuses "
                        "emitted", report.republished, report.arrivals)
            self.wake.set()
        return report

    def run(self, stop: threading.Event, guard: LoopGuard | None = None) -> None:
        """Pass after pass until `stop`. No exception ends the loop: the guard logs it with
        an error id, reports it to the health registry and says how long to back off
        (axis/health.py); every completed pass is a heartbeat there."""
        guard = guard or LoopGuard("delivery", now=self.exchange.clock.now, log=log)
        idle = self.idle_min_s
        while not stop.is_set():
            outcome = guard.run_pass(lambda: self.run_once() > 0 or self.relayed > 0)
            if outcome.failed:
                # Waits on `stop` only: new submissions must not turn a failing pass
                # (broker away, a defect) into a hot loop.
                stop.wait(outcome.retry_after_s)
                idle = self.idle_min_s
                continue
            busy = bool(outcome.value)
            idle = self.idle_min_s if busy else min(idle * 2, self.idle_max_s)
            if self.wake.wait(0 if busy else idle):
                self.wake.clear()
