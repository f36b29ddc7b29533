"""RabbitMQ implementation of the broker port, on pika's BlockingConnection.

With the modules it is made of (below), the only code of the project that imports pika;
every pika exception is translated here into `node.broker_unavailable` or
`node.broker_not_confirmed` (node faults: the caller keeps its outbox entries and
retries). Full rationale: `docs/broker.md`.

Topology (`topology.py`): direct exchange `<prefix>.deliveries` → one durable CLASSIC
queue per agency `<prefix>.agency.<id>` with `x-max-priority: 4`; edXML priorities 0–4 map
1:1 and the queue hands out the most urgent first, so an urgent document overtakes the
backlog (Art. 7.2). Not quorum: RabbitMQ 3.10 quorum queues have no priorities. On a
cluster, `layout="quorum"` gives each agency an urgent and a normal quorum queue instead,
urgent drained first (topology.py, docs/deployment.md).
Persistent messages, publisher confirms, mandatory publishes. `reject(retry=True)`
republishes a copy (attempt + 1) via headers exchange `<prefix>.retry` into
`<prefix>.retry.<ms>ms`, whose TTL is the back-off and whose dead-letter exchange is the
deliveries exchange; exhausted or `retry=False` → copy to `<prefix>.dead`. The original is
acked only once the copy is confirmed: a crash in between duplicates, never loses.

Where each part lives: `session.py` (one connection, its two channels, pipelined
confirms), `declarations.py` (declare, probe, delete), `publishing.py` (publish, await the
confirms), `consuming.py` (fetch, the consumer buffer, settling); this class holds them
together behind the port, one lock around every call.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager

import pika

from adapters.amqp import consuming, declarations
from adapters.amqp.publishing import await_confirms, publish
from adapters.amqp.session import (
    PIKA_ERRORS,
    WAIT_SLICE_S,
    Session,
    admin,
    close_quietly,
    connect,
    noop,
)
from adapters.amqp.topology import (
    HEADER_DEAD_REASON,
    HEADER_DELAY,
    Topology,
    check_agency_id,
    check_message,
    dead_reason,
    delay_for_attempt,
)
from axis import errors
from axis.route.broker import BrokerMessage, ReceivedMessage

DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000, 120000)


class RabbitBroker:
    """BrokerPort on RabbitMQ. Connects lazily and reconnects on the next call after a
    failure. Calls are serialised by a lock (pika connections are not thread-safe)."""

    def __init__(
        self,
        url: str,
        *,
        max_attempts: int = 5,
        retry_delays_ms: tuple[int, ...] = DEFAULT_RETRY_DELAYS_MS,
        confirm_timeout_s: float = 30,
        prefix: str = "axis",
        layout: str = "classic",
        prefetch: int = 200,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._prefetch = prefetch
        self._interrupted = False
        self._params = pika.URLParameters(url)
        # A broker under a resource alarm stops reading: without this a publish would wait
        # on a full socket forever instead of failing into the outbox's retry.
        self._params.blocked_connection_timeout = confirm_timeout_s
        self._topology = Topology(prefix, retry_delays_ms, layout)
        self._max_attempts = max_attempts
        self._retry_delays_ms = retry_delays_ms
        self._confirm_timeout_s = confirm_timeout_s
        self._lock = threading.RLock()
        self._session: Session | None = None
        self._generation = 0
        self._known: set[str] = set()  # agencies whose queue this session has seen
        self._declared: set[str] = set()  # agencies ensure_agency declared on this session

    # --- the port -----------------------------------------------------------------------

    def ensure_agency(self, agency_id: str) -> None:
        check_agency_id(agency_id)
        with self._lock, self._translated("ensure_agency"):
            session = self._open()
            self._declare_agency(session, agency_id)

    def publish_batch(self, messages: Sequence[BrokerMessage]) -> None:
        for message in messages:
            check_message(message)
        if not messages:
            return
        with self._lock, self._translated("publish"):
            session = self._open()
            exchange = self._topology.deliveries_exchange
            for message in messages:
                publish(session, exchange, self._topology.routing_key(message), message,
                        attempt=1)
            self._await_confirms(session, len(messages))

    def fetch(self, agency_id: str, max_messages: int = 1) -> list[ReceivedMessage]:
        check_agency_id(agency_id)
        with self._lock, self._translated("fetch"):
            session = self._open()
            if agency_id not in self._known and self._ready_count(session, agency_id) is None:
                return []  # no queue: nothing was ever routable to this agency
            self._known.add(agency_id)
            got: list[ReceivedMessage] = []
            for queue in self._topology.agency_queues(agency_id):  # urgent first
                got += consuming.get(session, id(self), queue.name, max_messages - len(got))
            return got

    def ack(self, received: ReceivedMessage) -> None:
        with self._lock, self._translated("ack"):
            session, tag = self._owned(received)
            session.channel.basic_ack(tag)
            session.unsettled.discard(tag)

    def subscribe(self, agency_ids: Collection[str]) -> None:
        wanted = set(agency_ids)
        for agency_id in wanted:
            check_agency_id(agency_id)
        with self._lock, self._translated("subscribe"):
            session = self._open()
            if wanted == session.consumers.keys():
                return  # every pass asks: nothing changed, no round trip
            if not session.qos:
                session.channel.basic_qos(prefetch_count=self._prefetch)
                session.qos = True
            on_message = functools.partial(consuming.on_delivery, id(self), session)
            for agency_id in sorted(wanted - session.consumers.keys()):
                self._declare_agency(session, agency_id)
                session.consumers[agency_id] = [
                    session.channel.basic_consume(queue.name, on_message, auto_ack=False)
                    for queue in self._topology.agency_queues(agency_id)]
            for agency_id in sorted(session.consumers.keys() - wanted):
                # What this consumer delivered stays in the buffer, owned until settled;
                # pika nacks (requeues) what arrives for it after the cancel.
                for tag in session.consumers.pop(agency_id):
                    session.channel.basic_cancel(tag)

    def receive(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            # The lock is let go between slices, so that operator calls (depth for the
            # metrics, reconciliation) wait at most one slice for an idle consumer.
            with self._lock, self._translated("receive"):
                session = self._open()  # zero-time I/O: dispatches what has arrived
                remaining = deadline - time.monotonic()
                if not session.buffer and not self._interrupted and remaining > 0:
                    session.connection.process_data_events(
                        time_limit=min(remaining, WAIT_SLICE_S))
                if session.buffer:
                    got = consuming.take(session, max_messages)
                    self._interrupted = False
                    return got
                if self._interrupted or deadline - time.monotonic() <= 0:
                    self._interrupted = False
                    return []

    def interrupt(self) -> None:
        self._interrupted = True  # seen by the next receive if none is waiting now
        session = self._session
        if session is not None:
            # Closed: then the waiting receive fails and returns anyway.
            with contextlib.suppress(*PIKA_ERRORS):
                session.connection.add_callback_threadsafe(noop)

    def ack_many(self, received: Sequence[ReceivedMessage]) -> None:
        if not received:
            return
        with self._lock, self._translated("ack"):
            owned = [self._owned(one) for one in received]  # all valid before any ack
            consuming.ack_run(owned[0][0], {tag for _, tag in owned})

    def reject(self, received: ReceivedMessage, *, retry: bool) -> None:
        with self._lock, self._translated("reject"):
            session, tag = self._owned(received)
            message, attempt = received.message, received.attempt
            if retry and attempt < self._max_attempts:
                delay_ms = delay_for_attempt(self._retry_delays_ms, attempt)
                publish(session, self._topology.retry_exchange,
                        self._topology.routing_key(message), message,
                        attempt=attempt + 1, extra={HEADER_DELAY: str(delay_ms)})
            else:
                reason = dead_reason(retry=retry, attempt=attempt)
                publish(session, "", self._topology.dead_queue, message,
                        attempt=attempt, extra={HEADER_DEAD_REASON: reason})
            self._await_confirms(session, 1)
            # Only now: the copy is the broker's responsibility, the original may go.
            session.channel.basic_ack(tag)
            session.unsettled.discard(tag)

    def release(self, received: ReceivedMessage) -> None:
        with self._lock, self._translated("release"):
            session, tag = self._owned(received)
            # basic.nack with requeue puts it back at its place in the queue (RabbitMQ
            # keeps the original position where it can), flagged redelivered; no copy
            # is published, so the attempt count does not move.
            session.channel.basic_nack(tag, requeue=True)
            session.unsettled.discard(tag)

    def depth(self, agency_id: str) -> int:
        check_agency_id(agency_id)
        with self._lock, self._translated("depth"):
            return self._ready_count(self._open(), agency_id) or 0

    def dead_letters(self, max_messages: int = 100) -> list[ReceivedMessage]:
        with self._lock, self._translated("dead_letters"):
            return consuming.get(self._open(), id(self), self._topology.dead_queue,
                                 max_messages)

    def close(self) -> None:
        """Close the connection: RabbitMQ hands back whatever was fetched and not settled.
        The object stays usable; the next call connects again."""
        with self._lock:
            self._drop()

    # --- operations beyond the port -----------------------------------------------------

    def delete_topology(self, agency_ids: Iterable[str] = ()) -> None:
        """Delete this prefix's exchanges and queues, messages included (tests and
        decommissioning only). Agency queues are those named plus those seen here."""
        with self._lock, self._translated("delete_topology"):
            declarations.delete_all(admin(self._open()), self._topology,
                                    sorted(set(agency_ids) | self._known))
            self._drop()

    # --- connection, channels, errors ---------------------------------------------------

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except PIKA_ERRORS as exc:
            # The session may be half-broken (closed channel, unknown confirm state):
            # throw it away; RabbitMQ requeues what it had delivered on it.
            self._drop()
            raise errors.BROKER_UNAVAILABLE.error(
                f"{action}: {type(exc).__name__}: {exc}") from exc

    def _open(self) -> Session:
        session = self._session
        if session is not None:
            try:
                # Zero-time I/O notices a connection the broker closed while we were idle
                # (missed heartbeats, restart) before we put anything on it.
                session.connection.process_data_events(0)
                if session.channel.is_open:
                    return session
            except PIKA_ERRORS:
                pass
            self._drop()
        self._generation += 1
        session = connect(self._params, self._generation, self._confirm_timeout_s,
                          lambda new: declarations.declare_shared(admin(new), self._topology))
        self._session = session
        return session

    def _declare_agency(self, session: Session, agency_id: str) -> None:
        if agency_id in self._declared:
            return  # the relay calls this for every batch: declare once per connection
        declarations.declare_agency(admin(session), self._topology, agency_id)
        self._known.add(agency_id)
        self._declared.add(agency_id)

    def _drop(self) -> None:
        session, self._session = self._session, None
        self._known.clear()  # the broker may have lost them (reset, restart without disk)
        self._declared.clear()
        if session is not None:
            close_quietly(session.connection)

    # --- messages -----------------------------------------------------------------------

    def _await_confirms(self, session: Session, count: int) -> None:
        await_confirms(session, count, self._confirm_timeout_s, self._drop)

    def _ready_count(self, session: Session, agency_id: str) -> int | None:
        return declarations.ready_count(session, self._topology, agency_id)

    def _owned(self, received: ReceivedMessage) -> tuple[Session, int]:
        return consuming.owned(self._session, id(self), received)
