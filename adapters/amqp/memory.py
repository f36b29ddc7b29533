"""The in-process broker of the embedded default: the BrokerPort without a RabbitMQ.

Same semantics as `rabbit.RabbitBroker`, checked by the same contract tests
(`tests/test_broker_contract.py`): per-agency priority order (Art. 7.2: urgent documents
go first), equal priorities in publication order, fetched messages owned until ack or
reject, bounded retry with back-off, a dead-letter queue.

Not durable: it keeps messages in memory only. The embedded node therefore does not
route through it at all: with no broker configured, its outbox is its queue and the worker
moves entries straight into inboxes (`Handover.deliver_direct`, docs/broker.md). This
broker stays as the port's second implementation for the contract tests and for nodes
that inject it.

Thread-safe: one lock guards all state, so relay and consumer threads can share it.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from adapters.amqp.topology import (
    HEADER_DEAD_REASON,
    check_agency_id,
    check_message,
    dead_reason,
    delay_for_attempt,
)
from axis import errors
from axis.route.broker import BrokerMessage, ReceivedMessage

DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000, 120000)


@dataclass(slots=True)
class _Entry:
    message: BrokerMessage
    attempt: int
    redelivered: bool
    seq: int  # arrival order in its queue: FIFO among equal priorities
    dead_reason: str = ""


@dataclass(frozen=True, slots=True)
class _Handle:
    broker_id: int
    generation: int  # bumped when the consumers are "lost": older handles are void
    token: int


# (-priority, arrival seq, entry): heapq pops the most urgent, then the oldest. seq is
# unique, so entries themselves are never compared.
_HeapItem = tuple[int, int, _Entry]


class InProcessBroker:
    def __init__(
        self,
        max_attempts: int = 5,
        *,
        retry_delays_ms: tuple[int, ...] = DEFAULT_RETRY_DELAYS_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        delay_for_attempt(retry_delays_ms, 1)  # validates the tuple
        self._max_attempts = max_attempts
        self._retry_delays_ms = retry_delays_ms
        self._clock = clock  # injected so tests advance back-off time without sleeping
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # something to receive, or interrupt
        self._subscribed: frozenset[str] = frozenset()
        self._interrupted = False
        self._queues: dict[str, list[_HeapItem]] = {}
        self._dead: list[_HeapItem] = []  # priority ignored: key (0, seq)
        self._delayed: list[tuple[float, int, _Entry]] = []  # (due, seq, entry)
        # token -> (agency or None for the dead-letter queue, entry)
        self._unacked: dict[int, tuple[str | None, _Entry]] = {}
        self._seq = itertools.count()
        self._tokens = itertools.count(1)
        self._generation = 0

    # --- the port -----------------------------------------------------------------------

    def ensure_agency(self, agency_id: str) -> None:
        check_agency_id(agency_id)
        with self._lock:
            self._queues.setdefault(agency_id, [])

    def publish_batch(self, messages: Sequence[BrokerMessage]) -> None:
        for message in messages:
            check_message(message)
        with self._lock:
            # All or nothing: an unroutable message must never vanish silently, and the
            # caller keeps the whole batch in its outbox anyway.
            missing = sorted({m.agency_id for m in messages} - self._queues.keys())
            if missing:
                raise errors.BROKER_NOT_CONFIRMED.error(
                    f"unroutable: no queue for agencies {missing} (ensure_agency first)")
            for message in messages:
                self._push(message.agency_id, _Entry(message, 1, False, next(self._seq)))
            self._ready.notify_all()

    def fetch(self, agency_id: str, max_messages: int = 1) -> list[ReceivedMessage]:
        with self._lock:
            self._promote_due()
            heap = self._queues.get(agency_id)
            if heap is None:
                return []
            return [self._take(heap, agency_id) for _ in range(min(max_messages, len(heap)))]

    def ack(self, received: ReceivedMessage) -> None:
        with self._lock:
            self._settle(received)

    def subscribe(self, agency_ids: Collection[str]) -> None:
        for agency_id in agency_ids:
            check_agency_id(agency_id)
        with self._lock:
            for agency_id in agency_ids:
                self._queues.setdefault(agency_id, [])
            self._subscribed = frozenset(agency_ids)

    def receive(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._lock:
            while True:
                self._promote_due()
                if self._interrupted or any(self._queues.get(a) for a in self._subscribed):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                # Back-off expiries do not notify: wake up for the next one that is due.
                if self._delayed:
                    remaining = min(remaining, max(0.0, self._delayed[0][0] - self._clock()))
                self._ready.wait(remaining)
            self._interrupted = False
            got: list[ReceivedMessage] = []
            # Most urgent first across every subscribed queue, then the oldest (no
            # prefetch to emulate: nothing is in flight between this broker and a consumer).
            while len(got) < max_messages:
                heads = [(heap[0][0], heap[0][1], agency) for agency in self._subscribed
                         if (heap := self._queues.get(agency))]
                if not heads:
                    break
                agency = min(heads)[2]
                got.append(self._take(self._queues[agency], agency))
            return got

    def interrupt(self) -> None:
        with self._lock:
            self._interrupted = True
            self._ready.notify_all()

    def ack_many(self, received: Sequence[ReceivedMessage]) -> None:
        with self._lock:
            for one in received:
                self._settle(one)

    def reject(self, received: ReceivedMessage, *, retry: bool) -> None:
        with self._lock:
            _, entry = self._settle(received)
            if not retry or entry.attempt >= self._max_attempts:
                reason = dead_reason(retry=retry, attempt=entry.attempt)
                self._push(None, _Entry(entry.message, entry.attempt, False, next(self._seq),
                                        reason))
                return
            delay_ms = delay_for_attempt(self._retry_delays_ms, entry.attempt)
            again = _Entry(entry.message, entry.attempt + 1, False, -1)
            heapq.heappush(
                self._delayed, (self._clock() + delay_ms / 1000, next(self._seq), again))

    def release(self, received: ReceivedMessage) -> None:
        with self._lock:
            agency, entry = self._settle(received)
            entry.redelivered = True
            self._push(agency, entry)  # original seq: back at its old place
            self._ready.notify_all()

    def depth(self, agency_id: str) -> int:
        with self._lock:
            self._promote_due()
            return len(self._queues.get(agency_id, ()))

    def dead_letters(self, max_messages: int = 100) -> list[ReceivedMessage]:
        with self._lock:
            n = min(max_messages, len(self._dead))
            return [self._take(self._dead, None) for _ in range(n)]

    def close(self) -> None:
        # Like a closed AMQP connection: whatever was fetched and not settled goes back.
        self.requeue_unacked()

    # --- for tests and the embedded node ------------------------------------------------

    def requeue_unacked(self) -> int:
        """Simulate lost consumers: every fetched, unsettled message goes back to where it
        was (redelivered=True), and the handles given out so far become void."""
        with self._lock:
            lost = list(self._unacked.values())
            self._unacked.clear()
            self._generation += 1
            for agency, entry in lost:
                entry.redelivered = True
                self._push(agency, entry)  # original seq: back at its old place
            self._ready.notify_all()
            return len(lost)

    # --- internals (callers hold the lock) ----------------------------------------------

    def _push(self, agency: str | None, entry: _Entry) -> None:
        if agency is None:
            heapq.heappush(self._dead, (0, entry.seq, entry))
        else:
            heapq.heappush(self._queues[agency], (-entry.message.priority, entry.seq, entry))

    def _take(self, heap: list[_HeapItem], agency: str | None) -> ReceivedMessage:
        _, _, entry = heapq.heappop(heap)
        token = next(self._tokens)
        self._unacked[token] = (agency, entry)
        message = entry.message
        if agency is None:  # dead letters say why they are there, as RabbitBroker's do
            message = replace(
                message, headers=(*message.headers, (HEADER_DEAD_REASON, entry.dead_reason)))
        return ReceivedMessage(
            message=message,
            attempt=entry.attempt,
            redelivered=entry.redelivered,
            handle=_Handle(id(self), self._generation, token),
        )

    def _settle(self, received: ReceivedMessage) -> tuple[str | None, _Entry]:
        handle = received.handle
        if not isinstance(handle, _Handle) or handle.broker_id != id(self):
            raise ValueError("this message was not fetched from this broker")
        if handle.generation != self._generation:
            # The consumer was lost meanwhile: the message is already back in its queue
            # and will be delivered again (deduplicated by delivery_id).
            raise errors.BROKER_UNAVAILABLE.error(
                f"delivery {received.message.delivery_id} was given back after consumer "
                "loss; it will be redelivered")
        owned = self._unacked.pop(handle.token, None)
        if owned is None:
            raise ValueError(f"delivery {received.message.delivery_id} already settled")
        return owned

    def _promote_due(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, entry = heapq.heappop(self._delayed)
            entry.seq = next(self._seq)  # arrives now: behind what is already waiting
            self._push(entry.message.agency_id, entry)
