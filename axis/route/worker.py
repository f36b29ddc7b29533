"""The node's delivery loop: relay the outbox to the broker, move what the broker delivers
into inboxes. `run_once` does one thorough pass (tests drive it directly); `run` repeats
until stopped.

Consuming, not polling: the worker subscribes to every consumed agency's queue (the
broker's consumers with prefetch; the subscription follows the registry, read from its
in-memory snapshot every pass) and moves what arrives in batches, one transaction per
batch, acks after the commit (axis/route/handover.py). While idle it waits inside
`BrokerPort.receive`, which a delivery ends, and so does a submission: `wake` is a
`Wake`, whose `set` also interrupts that wait, so submit → inbox takes milliseconds.

Every step it takes is idempotent, so several workers (threads or node processes sharing
the database and the broker) can run at once: SKIP LOCKED spreads the outbox between them,
the broker gives each message to one consumer, and delivery ids keep inbox writes single.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from axis.errors import AxisError
from axis.health import LoopGuard
from axis.route import reconcile
from axis.route.exchange import Exchange
from axis.route.handover import Handover, give_back

log = logging.getLogger("axis.worker")
# 01s signed per transaction: a 3072-bit RSA signature is ~3 ms, so a batch holds its
# rows (and the outbox inserts) for a fraction of a second, not for seconds.
ARRIVALS_BATCH = 100
# In `run`, one batch this size per pass: signing runs between relay and consume passes
# instead of in front of them. Signing until nothing is owed starved the hand-over for as
# long as recipients kept taking (a 9 s stall in the bench at 23 takes/s, 2 busy cores).
ARRIVALS_PER_PASS = 25


class Wake(threading.Event):
    """A threading.Event that also runs hooks when set (from any thread): the worker
    hooks its broker's `interrupt`, so a submission ends the worker's idle wait at once."""

    def __init__(self) -> None:
        super().__init__()
        self.hooks: list[Callable[[], None]] = []

    def set(self) -> None:
        super().set()
        for hook in self.hooks:
            hook()


@dataclass(slots=True)
class Worker:
    exchange: Exchange
    agencies: Callable[[], Iterable[str]]  # whose queues the node consumes (pull mode)
    batch: int = 500
    # A pass of `run`: relayed, and moved into inboxes per transaction (see _deliver).
    pass_batch: int = 100
    idle_min_s: float = 0.05
    # The longest idle wait. A submission in this process interrupts it (Wake); one in
    # another process (`axis serve` beside `axis worker`) is relayed by the next pass, so
    # this bounds its submit → available at low load: one claim query per wait.
    idle_max_s: float = 0.25
    wake: threading.Event = field(default_factory=Wake)
    relayed: int = 0  # outbox entries published by the last pass
    arrivals: int = 0  # 01s signed and queued by the last pass
    # The embedded default: no broker holds anything, the outbox is the queue and a pass
    # moves its entries straight into the inboxes (Handover.deliver_direct).
    direct: bool = False
    reconcile_after: timedelta = timedelta(minutes=5)
    reconcile_limit: int = 1000
    # Chains the journal's committed entries after each pass (the store's sealer: safe in
    # every process at once, a read when there is nothing to seal). Its verdict on a
    # broken journal is the `journal.seal` job's to report: delivery goes on regardless.
    seal: Callable[[datetime], object] | None = None
    # run_once only: how long to wait for the copies it relayed to consumed agencies to
    # come back from the broker, and how long a quiet broker ends the pass.
    expect_s: float = 5.0
    settle_s: float = 0.05
    # The hand-over (axis/route/handover.py), over the exchange's store, broker and clock.
    handover: Handover = field(init=False)

    def __post_init__(self) -> None:
        self.handover = Handover(self.exchange.store, self.exchange.broker,
                                 self.exchange.clock)
        if not self.direct and isinstance(self.wake, Wake):
            self.wake.hooks.append(self.exchange.broker.interrupt)

    def run_once(self) -> int:
        """One thorough pass: relay until the outbox is empty, then move into inboxes
        every copy relayed to a consumed agency (waiting up to `expect_s` for the broker
        to deliver them) and whatever else arrives until the broker has been quiet for
        `settle_s`; then seal the journal. Returns how many copies reached an inbox."""
        self._sign_arrivals()
        moved = self._deliver(None)
        if self.seal is not None:
            self.seal(self.exchange.clock.now())
        return moved

    def _pass(self, wait_s: float) -> bool:
        """One pass of `run`: relay, then move what the broker delivers, waiting up to
        `wait_s` for the first batch (the idle wait). True if it did anything."""
        self._sign_arrivals(limit=ARRIVALS_PER_PASS)
        moved = self._deliver(0.0 if self.arrivals else wait_s)
        if self.seal is not None:
            self.seal(self.exchange.clock.now())
        return moved > 0 or self.relayed > 0 or self.arrivals > 0

    def _sign_arrivals(self, limit: int | None = None) -> None:
        """The node's 01s owed for copies taken (Art. 11.2), signed and queued before the
        relay, so that they travel in the same pass. A 01 that cannot be written (its
        bytes on a full disk, the database away) stays owed for the next pass and must
        not hold up the copies already accepted: logged (rate-limited), delivery goes
        on; the database being away fails the delivery step itself anyway. With `limit`,
        one batch of at most that many (the rest in the next passes), else all owed."""
        self.arrivals = 0
        try:
            if limit is not None:
                self.arrivals = self.exchange.emit_due_arrivals(limit)
                return
            while (n := self.exchange.emit_due_arrivals(ARRIVALS_BATCH)) > 0:
                self.arrivals += n
        except AxisError as exc:
            log.warning("arrival statuses (01) not written yet: %s", exc.code.id,
                        extra={"rate_key": f"delivery.arrivals:{exc.code.id}",
                               "code": exc.code.id, "detail": exc.detail})

    def _deliver(self, wait_s: float | None) -> int:
        """`wait_s` None: run_once's thorough pass (everything, in batches of `batch`).
        Else `run`'s pass: one relay batch of `pass_batch`, then what the broker holds,
        moved `pass_batch` at a time. Short passes keep Art. 7.2's promise under a
        backlog: an urgent copy accepted now is claimed first by the next relay batch
        (the outbox is read urgent first) and handed out first from the consumer's
        buffer, so it waits for one short pass, not for the whole backlog to be handed
        to the broker (10,000 waiting took 27 s before it was read, issue 9)."""
        self.relayed = 0
        thorough = wait_s is None
        size = self.batch if thorough else self.pass_batch
        if self.direct:
            # Each transaction holds SQLite's one write lock: short ones, so that
            # submissions do not queue behind a 500-copy move.
            while (n := self.handover.deliver_direct(self.pass_batch)) > 0:
                self.relayed += n
            return self.relayed
        consumed = frozenset(self.agencies())
        expected: set[str] = set()
        while messages := self.handover.relay_once(size):
            self.relayed += len(messages)
            expected.update(m.delivery_id for m in messages if m.agency_id in consumed)
            if not thorough:
                break  # the rest in the next passes, each read urgent first
        broker = self.exchange.broker
        broker.subscribe(consumed)
        moved = 0
        first = wait_s or 0.0
        give_up = time.monotonic() + self.expect_s
        while True:
            waiting = thorough and bool(expected) and time.monotonic() < give_up
            if waiting:
                timeout = give_up - time.monotonic()
            elif thorough:
                timeout = self.settle_s
            else:
                timeout, first = first, 0.0  # only the first receive waits
            batch = broker.receive(size, max(0.0, timeout))
            if not batch:
                if waiting:
                    continue  # interrupted (a submission) while copies are on their way
                return moved
            expected.difference_update(r.message.delivery_id for r in batch)
            moved += self.handover.move(batch)
            if not thorough:
                return moved  # one batch a pass: the next relay reads urgent ones first

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
        (axis/health.py); every completed pass is a heartbeat there. Idle, a pass waits
        in the broker's `receive` (a delivery or a submission ends it); on the embedded
        default, on `wake`."""
        guard = guard or LoopGuard("delivery", now=self.exchange.clock.now, log=log)
        idle, busy = self.idle_min_s, False
        try:
            while not stop.is_set():
                woken = self.wake.is_set()
                self.wake.clear()  # a set from now on interrupts the wait below
                wait_s = 0.0 if busy or woken or self.direct else idle
                outcome = guard.run_pass(functools.partial(self._pass, wait_s))
                if outcome.failed:
                    # Waits on `stop` only: new submissions must not turn a failing pass
                    # (broker away, a defect) into a hot loop.
                    stop.wait(outcome.retry_after_s)
                    idle, busy = self.idle_min_s, False
                    continue
                busy = bool(outcome.value)
                idle = self.idle_min_s if busy else min(idle * 2, self.idle_max_s)
                if self.direct and not busy:
                    self.wake.wait(idle)
        finally:
            if not self.direct:
                self._stop_consuming()

    def _stop_consuming(self) -> None:
        """Cancel the consumers and give back what they delivered and nobody moved: held
        unsettled on a live connection, it would never be redelivered."""
        broker = self.exchange.broker
        try:
            broker.subscribe(())
            while left := broker.receive(10_000, 0):
                give_back(broker, left)
        except AxisError as exc:
            log.warning("stopping the consumers: %s (the connection's end gives back "
                        "what they held)", exc)
            broker.close()
