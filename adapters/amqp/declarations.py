"""What `RabbitBroker` declares, probes and deletes on the broker (the layout itself,
names and arguments, is `topology.py`). Everything here runs on a session's admin
channel, which a 404/406 may close without touching the main one (`session.py`)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pika.exceptions

from adapters.amqp.session import Session, admin
from adapters.amqp.topology import Topology
from axis import errors

_NOT_FOUND, _PRECONDITION_FAILED = 404, 406


def declare_shared(channel: Any, topo: Topology) -> None:
    """What every agency shares: exchanges, retry queues, the dead-letter queue."""
    channel.exchange_declare(topo.deliveries_exchange, exchange_type="direct", durable=True)
    channel.exchange_declare(topo.retry_exchange, exchange_type="headers", durable=True)
    for delay_ms in topo.distinct_delays:
        queue = topo.retry_queue(delay_ms)
        channel.queue_declare(
            queue, durable=True, arguments=topo.retry_queue_arguments(delay_ms))
        channel.queue_bind(
            queue, topo.retry_exchange, arguments=topo.retry_binding_arguments(delay_ms))
    channel.queue_declare(
        topo.dead_queue, durable=True, arguments=topo.dead_queue_arguments())


def declare_agency(channel: Any, topo: Topology, agency_id: str) -> None:
    """The agency's queues, bound; `config.invalid` if one exists with other arguments."""
    for queue in topo.agency_queues(agency_id):
        try:
            channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
            channel.queue_bind(queue.name, topo.deliveries_exchange,
                             queue.routing_key)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != _PRECONDITION_FAILED:
                raise
            raise errors.CONFIG_INVALID.error(f"queue {queue.name} exists with "
                                              f"other arguments: {exc.reply_text}"
                                              ) from exc


def ready_count(session: Session, topo: Topology, agency_id: str) -> int | None:
    """Ready messages in the agency's queues, None if it has none."""
    count = 0
    for queue in topo.agency_queues(agency_id):
        try:
            ok = admin(session).queue_declare(queue.name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == _NOT_FOUND:
                return None
            raise
        count += int(ok.method.message_count)
    return count


def delete_all(channel: Any, topo: Topology, agency_ids: Iterable[str]) -> None:
    """This prefix's exchanges and queues, messages included, agency queues of those
    named."""
    for agency_id in agency_ids:
        for queue in topo.agency_queues(agency_id):
            channel.queue_delete(queue.name)
    for delay_ms in topo.distinct_delays:
        channel.queue_delete(topo.retry_queue(delay_ms))
    channel.queue_delete(topo.dead_queue)
    channel.exchange_delete(topo.deliveries_exchange)
    channel.exchange_delete(topo.retry_exchange)
