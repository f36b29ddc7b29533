"""`RabbitBroker`'s receiving side: what was fetched or delivered, and settling it.

Consuming (`subscribe`/`receive`): one consumer per agency queue on the main channel,
each with `basic.qos` prefetch (per consumer: quorum queues have no channel-wide
prefetch). Deliveries land in the session's buffer from pika's dispatch, which runs in
any `process_data_events` on this connection (the relay's confirm wait included); `receive`
hands the buffer out most urgent first (`take`) and otherwise waits in
`process_data_events`, which a delivery or `interrupt` (`add_callback_threadsafe`, the one
thread-safe pika call) ends.
`ack_many` settles with one `multiple=True` ack the longest run of the channel's
unsettled tags that the batch covers, then singly whatever the buffer's priority order
left out of that run (`ack_run`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.amqp.session import Session
from adapters.amqp.topology import HEADER_ATTEMPT, decode_message
from axis import errors
from axis.route.broker import ReceivedMessage


@dataclass(frozen=True, slots=True)
class Handle:
    broker_id: int
    generation: int  # the session the tag belongs to: tags mean nothing on another one
    delivery_tag: int


def get(session: Session, broker_id: int, queue: str,
        max_messages: int) -> list[ReceivedMessage]:
    # basic.get takes the head of the queue, which in a priority queue is the oldest
    # message of the highest priority present (Art. 7.2).
    received: list[ReceivedMessage] = []
    while len(received) < max_messages:
        method, properties, body = session.channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        received.append(received_of(session, broker_id, method, properties, body))
    return received


def on_delivery(broker_id: int, session: Session, _channel: Any, method: Any,
                properties: Any, body: bytes) -> None:
    """A consumer's delivery (pika's dispatch, inside process_data_events): buffered
    for `receive`, owned from now on."""
    session.buffer.append(received_of(session, broker_id, method, properties, body))


def received_of(session: Session, broker_id: int, method: Any, properties: Any,
                body: bytes) -> ReceivedMessage:
    session.unsettled.add(method.delivery_tag)
    return ReceivedMessage(
        message=decode_message(
            properties.headers, properties.message_id, properties.priority, body),
        attempt=int((properties.headers or {}).get(HEADER_ATTEMPT, 1)),
        redelivered=bool(method.redelivered),
        handle=Handle(broker_id, session.generation, method.delivery_tag),
    )


def take(session: Session, max_messages: int) -> list[ReceivedMessage]:
    """Up to `max_messages` of the buffer, most urgent first."""
    # Stable: equal priorities keep their delivery order (Art. 7.2).
    session.buffer.sort(key=lambda r: -r.message.priority)
    got = session.buffer[:max_messages]
    del session.buffer[:max_messages]
    return got


def owned(session: Session | None, broker_id: int,
          received: ReceivedMessage) -> tuple[Session, int]:
    """The live session and delivery tag of a message this broker object handed out."""
    handle = received.handle
    if not isinstance(handle, Handle) or handle.broker_id != broker_id:
        raise ValueError("this message was not fetched through this broker object")
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


def ack_run(session: Session, batch: set[int]) -> None:
    """Settle every tag of `batch` (all unsettled on `session`)."""
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
