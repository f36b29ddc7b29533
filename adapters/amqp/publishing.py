"""`RabbitBroker`'s publishing side: persistent, mandatory publishes on a session's main
channel, and the wait for their confirms (pipelined: `session.py`). A nack or a return
fails the whole batch with `node.broker_not_confirmed`; the caller's outbox keeps it."""
from __future__ import annotations

from collections.abc import Callable

import pika

from adapters.amqp.session import Session, wait
from adapters.amqp.topology import encode_headers
from axis import errors
from axis.route.broker import BrokerMessage


def publish(
    session: Session,
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


def await_confirms(session: Session, count: int, timeout_s: float,
                   drop: Callable[[], None]) -> None:
    """Every publish of the batch confirmed, or `node.broker_not_confirmed`; on a timeout
    `drop` throws the session away first."""
    if not wait(session.connection, lambda: not session.confirms.pending, timeout_s):
        missing = len(session.confirms.pending)
        drop()  # late confirms would land on tags we no longer track
        raise errors.BROKER_NOT_CONFIRMED.error(
            f"{missing} of {count} not confirmed within {timeout_s} s")
    nacked, returned = session.confirms.take_failures()
    if nacked:
        raise errors.BROKER_NOT_CONFIRMED.error(
            f"broker refused (nack) {len(nacked)} of {count}: {nacked[:5]}")
    if returned:
        raise errors.BROKER_NOT_CONFIRMED.error(
            f"unroutable, no queue (ensure_agency first): {returned[:5]}")
