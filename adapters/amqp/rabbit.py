"""RabbitMQ implementation of the broker port, on pika's BlockingConnection.

The only module of the project that imports pika; every pika exception is translated here
into `node.broker_unavailable` or `node.broker_not_confirmed` (node faults: the caller
keeps its outbox entries and retries). Full rationale: `docs/broker.md`.

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

Pipelined confirms: `BlockingChannel.confirm_delivery()` would make each `basic_publish`
wait for its own Basic.Ack (a round trip per message). Instead the underlying
`pika.channel.Channel` (`BlockingChannel._impl`, stable across pika 1.x, pinned) gets
Confirm.Select with our callback (`confirms.Confirms`), the blocking channel stays out of
confirm mode so `basic_publish` only writes frames, and after the batch
`process_data_events` runs until no delivery tag is pending or the timeout passes.

Two channels per connection: main (publish, get, consume, ack) and admin (declarations,
passive probes), since a 404/406 closes its channel, and closing main would requeue every
message fetched and not yet acked.

Consuming (`subscribe`/`receive`): one consumer per agency queue on the main channel,
each with `basic.qos` prefetch (per consumer: quorum queues have no channel-wide
prefetch). Deliveries land in the session's buffer from pika's dispatch, which runs in
any `process_data_events` on this connection (the relay's confirm wait included); `receive`
hands the buffer out most urgent first and otherwise waits in `process_data_events`, which
a delivery or `interrupt` (`add_callback_threadsafe`, the one thread-safe pika call) ends.
`ack_many` settles with one `multiple=True` ack the longest run of the channel's
unsettled tags that the batch covers, then singly whatever the buffer's priority order
left out of that run.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions

from adapters.amqp.confirms import Confirms
from adapters.amqp.topology import (
    HEADER_ATTEMPT,
    HEADER_DEAD_REASON,
    HEADER_DELAY,
    Topology,
    check_agency_id,
    check_message,
    dead_reason,
    decode_message,
    delay_for_attempt,
    encode_headers,
)
from axis import errors
from axis.route.broker import BrokerMessage, ReceivedMessage

DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000, 120000)
_PIKA_ERRORS = (pika.exceptions.AMQPError, OSError)
_NOT_FOUND, _PRECONDITION_FAILED = 404, 406
_WAIT_SLICE_S = 0.25  # upper bound of one I/O wait; the wake-up below usually ends it first


def _noop() -> None:
    pass


@dataclass(slots=True)
class _Session:
    connection: Any  # pika.BlockingConnection
    channel: Any  # main BlockingChannel: confirm mode, publish, get, ack
    confirms: Confirms
    generation: int
    admin: Any = None  # BlockingChannel for declarations and probes, reopened on demand
    unsettled: set[int] = field(default_factory=set)  # tags fetched on `channel`
    consumers: dict[str, list[str]] = field(default_factory=dict)  # agency -> tags
    buffer: list[ReceivedMessage] = field(default_factory=list)  # delivered, not received
    qos: bool = False


@dataclass(frozen=True, slots=True)
class _Handle:
    broker_id: int
    generation: int  # the session the tag belongs to: tags mean nothing on another one
    delivery_tag: int


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
        self._session: _Session | None = None
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
                self._publish(session, exchange, self._topology.routing_key(message), message,
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
                got += self._get(session, queue.name, max_messages - len(got))
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
            on_message = functools.partial(self._on_delivery, session)
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
                        time_limit=min(remaining, _WAIT_SLICE_S))
                if session.buffer:
                    # Stable: equal priorities keep their delivery order (Art. 7.2).
                    session.buffer.sort(key=lambda r: -r.message.priority)
                    got = session.buffer[:max_messages]
                    del session.buffer[:max_messages]
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
            with contextlib.suppress(*_PIKA_ERRORS):
                session.connection.add_callback_threadsafe(_noop)

    def ack_many(self, received: Sequence[ReceivedMessage]) -> None:
        if not received:
            return
        with self._lock, self._translated("ack"):
            owned = [self._owned(one) for one in received]  # all valid before any ack
            session = owned[0][0]
            batch = {tag for _, tag in owned}
            # multiple=True settles every unsettled tag up to the one named: safe for the
            # longest ascending run of the channel's unsettled tags inside the batch.
            upto = 0
            for tag in sorted(session.unsettled):
                if tag not in batch:
                    break
                upto = tag
            if upto:
                session.channel.basic_ack(upto, multiple=True)
            for tag in sorted(batch):
                if tag > upto:
                    session.channel.basic_ack(tag)
            session.unsettled -= batch

    def reject(self, received: ReceivedMessage, *, retry: bool) -> None:
        with self._lock, self._translated("reject"):
            session, tag = self._owned(received)
            message, attempt = received.message, received.attempt
            if retry and attempt < self._max_attempts:
                delay_ms = delay_for_attempt(self._retry_delays_ms, attempt)
                self._publish(session, self._topology.retry_exchange,
                              self._topology.routing_key(message), message,
                              attempt=attempt + 1, extra={HEADER_DELAY: str(delay_ms)})
            else:
                reason = dead_reason(retry=retry, attempt=attempt)
                self._publish(session, "", self._topology.dead_queue, message,
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
            return self._get(self._open(), self._topology.dead_queue, max_messages)

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
            admin = self._admin(self._open())
            for agency_id in sorted(set(agency_ids) | self._known):
                for queue in self._topology.agency_queues(agency_id):
                    admin.queue_delete(queue.name)
            for delay_ms in self._topology.distinct_delays:
                admin.queue_delete(self._topology.retry_queue(delay_ms))
            admin.queue_delete(self._topology.dead_queue)
            admin.exchange_delete(self._topology.deliveries_exchange)
            admin.exchange_delete(self._topology.retry_exchange)
            self._drop()

    # --- connection, channels, errors ---------------------------------------------------

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except _PIKA_ERRORS as exc:
            # The session may be half-broken (closed channel, unknown confirm state):
            # throw it away; RabbitMQ requeues what it had delivered on it.
            self._drop()
            raise errors.BROKER_UNAVAILABLE.error(
                f"{action}: {type(exc).__name__}: {exc}") from exc

    def _open(self) -> _Session:
        session = self._session
        if session is not None:
            try:
                # Zero-time I/O notices a connection the broker closed while we were idle
                # (missed heartbeats, restart) before we put anything on it.
                session.connection.process_data_events(0)
                if session.channel.is_open:
                    return session
            except _PIKA_ERRORS:
                pass
            self._drop()
        self._generation += 1
        connection = pika.BlockingConnection(self._params)
        try:
            channel = connection.channel()

            def wake() -> None:
                # A zero-delay timer is a "ready event" for BlockingConnection: it ends
                # the current process_data_events as soon as a waited-for callback fired.
                connection.call_later(0, _noop)

            confirms = Confirms(wake)
            selected: list[bool] = []

            def on_select_ok(_frame: Any) -> None:
                selected.append(True)
                wake()

            # See the module docstring: confirm mode on the underlying channel, so that
            # publishes are pipelined and tracked by `Confirms`.
            channel._impl.confirm_delivery(
                ack_nack_callback=confirms.on_confirm, callback=on_select_ok)
            channel.add_on_return_callback(confirms.on_return)
            if not self._wait(connection, lambda: bool(selected)):
                raise pika.exceptions.AMQPConnectionError("no Confirm.SelectOk in time")
            session = _Session(connection, channel, confirms, self._generation)
            self._declare_shared(session)
        except BaseException:
            _close_quietly(connection)
            raise
        self._session = session
        return session

    def _declare_shared(self, session: _Session) -> None:
        """What every agency shares: exchanges, retry queues, the dead-letter queue."""
        topo = self._topology
        admin = self._admin(session)
        admin.exchange_declare(topo.deliveries_exchange, exchange_type="direct", durable=True)
        admin.exchange_declare(topo.retry_exchange, exchange_type="headers", durable=True)
        for delay_ms in topo.distinct_delays:
            queue = topo.retry_queue(delay_ms)
            admin.queue_declare(
                queue, durable=True, arguments=topo.retry_queue_arguments(delay_ms))
            admin.queue_bind(
                queue, topo.retry_exchange, arguments=topo.retry_binding_arguments(delay_ms))
        admin.queue_declare(
            topo.dead_queue, durable=True, arguments=topo.dead_queue_arguments())

    def _declare_agency(self, session: _Session, agency_id: str) -> None:
        if agency_id in self._declared:
            return  # the relay calls this for every batch: declare once per connection
        admin = self._admin(session)
        for queue in self._topology.agency_queues(agency_id):
            try:
                admin.queue_declare(queue.name, durable=True, arguments=queue.arguments)
                admin.queue_bind(queue.name, self._topology.deliveries_exchange,
                                 queue.routing_key)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != _PRECONDITION_FAILED:
                    raise
                raise errors.CONFIG_INVALID.error(f"queue {queue.name} exists with "
                                                  f"other arguments: {exc.reply_text}"
                                                  ) from exc
        self._known.add(agency_id)
        self._declared.add(agency_id)

    def _admin(self, session: _Session) -> Any:
        if session.admin is None or not session.admin.is_open:
            session.admin = session.connection.channel()
        return session.admin

    def _drop(self) -> None:
        session, self._session = self._session, None
        self._known.clear()  # the broker may have lost them (reset, restart without disk)
        self._declared.clear()
        if session is not None:
            _close_quietly(session.connection)

    def _wait(self, connection: Any, done: Callable[[], bool]) -> bool:
        """Run I/O until `done()` or the confirm timeout. Always runs once: that dispatches
        Basic.Return events even when every confirm came in while publishing."""
        deadline = time.monotonic() + self._confirm_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            connection.process_data_events(time_limit=max(0.0, min(remaining, _WAIT_SLICE_S)))
            if done():
                return True
            if remaining <= 0:
                return False

    # --- messages -----------------------------------------------------------------------

    def _publish(
        self,
        session: _Session,
        exchange: str,
        routing_key: str,
        message: BrokerMessage,
        *,
        attempt: int,
        extra: dict[str, str] | None = None,
    ) -> None:
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,  # survives a broker restart
            priority=message.priority,
            message_id=message.delivery_id,
            headers=encode_headers(message, attempt, extra or {}),
        )
        # Counted before it is written: its Basic.Ack may arrive while pika flushes.
        session.confirms.published(message.delivery_id)
        # mandatory: an unroutable message comes back (Basic.Return) instead of vanishing.
        session.channel.basic_publish(
            exchange, routing_key, message.body, properties, mandatory=True)

    def _await_confirms(self, session: _Session, count: int) -> None:
        if not self._wait(session.connection, lambda: not session.confirms.pending):
            missing = len(session.confirms.pending)
            self._drop()  # late confirms would land on tags we no longer track
            raise errors.BROKER_NOT_CONFIRMED.error(
                f"{missing} of {count} not confirmed within {self._confirm_timeout_s} s")
        nacked, returned = session.confirms.take_failures()
        if nacked:
            raise errors.BROKER_NOT_CONFIRMED.error(
                f"broker refused (nack) {len(nacked)} of {count}: {nacked[:5]}")
        if returned:
            raise errors.BROKER_NOT_CONFIRMED.error(
                f"unroutable, no queue (ensure_agency first): {returned[:5]}")

    def _ready_count(self, session: _Session, agency_id: str) -> int | None:
        """Ready messages in the agency's queues, None if it has none."""
        count = 0
        for queue in self._topology.agency_queues(agency_id):
            try:
                ok = self._admin(session).queue_declare(queue.name, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code == _NOT_FOUND:
                    return None
                raise
            count += int(ok.method.message_count)
        return count

    def _get(self, session: _Session, queue: str, max_messages: int) -> list[ReceivedMessage]:
        # basic.get takes the head of the queue, which in a priority queue is the oldest
        # message of the highest priority present (Art. 7.2).
        received: list[ReceivedMessage] = []
        while len(received) < max_messages:
            method, properties, body = session.channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            received.append(self._received(session, method, properties, body))
        return received

    def _on_delivery(
        self, session: _Session, _channel: Any, method: Any, properties: Any, body: bytes
    ) -> None:
        """A consumer's delivery (pika's dispatch, inside process_data_events): buffered
        for `receive`, owned from now on."""
        session.buffer.append(self._received(session, method, properties, body))

    def _received(
        self, session: _Session, method: Any, properties: Any, body: bytes
    ) -> ReceivedMessage:
        session.unsettled.add(method.delivery_tag)
        return ReceivedMessage(
            message=decode_message(
                properties.headers, properties.message_id, properties.priority, body),
            attempt=int((properties.headers or {}).get(HEADER_ATTEMPT, 1)),
            redelivered=bool(method.redelivered),
            handle=_Handle(id(self), session.generation, method.delivery_tag),
        )

    def _owned(self, received: ReceivedMessage) -> tuple[_Session, int]:
        handle = received.handle
        if not isinstance(handle, _Handle) or handle.broker_id != id(self):
            raise ValueError("this message was not fetched through this broker object")
        session = self._session
        if session is None or session.generation != handle.generation:
            # Its connection is gone, so RabbitMQ has requeued it: it will come again
            # (deduplicated by delivery_id). Acking its tag on a new channel would settle
            # some other message.
            raise errors.BROKER_UNAVAILABLE.error(
                f"delivery {received.message.delivery_id} was lost with its connection; "
                "it will be redelivered")
        if handle.delivery_tag not in session.unsettled:
            raise ValueError(f"delivery {received.message.delivery_id} already settled")
        return session, handle.delivery_tag


def _close_quietly(connection: Any) -> None:
    try:
        if connection.is_open:
            connection.close()
    except _PIKA_ERRORS:
        pass  # already broken: nothing left to release
