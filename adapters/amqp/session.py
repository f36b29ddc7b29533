"""One pika connection of `RabbitBroker` and what lives on it: a `Session`.

Pipelined confirms: `BlockingChannel.confirm_delivery()` would make each `basic_publish`
wait for its own Basic.Ack (a round trip per message). Instead the underlying
`pika.channel.Channel` (`BlockingChannel._impl`, stable across pika 1.x, pinned) gets
Confirm.Select with our callback (`confirms.Confirms`), the blocking channel stays out of
confirm mode so `basic_publish` only writes frames, and after the batch
`process_data_events` runs until no delivery tag is pending or the timeout passes
(`wait`).

Two channels per connection: main (publish, get, consume, ack) and admin (declarations,
passive probes), since a 404/406 closes its channel, and closing main would requeue every
message fetched and not yet acked.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions

from adapters.amqp.confirms import Confirms
from axis.route.broker import ReceivedMessage

PIKA_ERRORS = (pika.exceptions.AMQPError, OSError)
WAIT_SLICE_S = 0.25  # upper bound of one I/O wait; the wake-up below usually ends it first


def noop() -> None:
    pass


@dataclass(slots=True)
class Session:
    connection: Any  # pika.BlockingConnection
    channel: Any  # main BlockingChannel: confirm mode, publish, get, ack
    confirms: Confirms
    generation: int
    admin: Any = None  # BlockingChannel for declarations and probes, reopened on demand
    unsettled: set[int] = field(default_factory=set)  # tags fetched on `channel`
    consumers: dict[str, list[str]] = field(default_factory=dict)  # agency -> tags
    buffer: list[ReceivedMessage] = field(default_factory=list)  # delivered, not received
    qos: bool = False


def connect(params: pika.URLParameters, generation: int, confirm_timeout_s: float,
            ready: Callable[[Session], None]) -> Session:
    """A new connection with its main channel in (pipelined) confirm mode; `ready` runs on
    the session before it is handed out (declarations). Closed again if anything fails."""
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()

        def wake() -> None:
            # A zero-delay timer is a "ready event" for BlockingConnection: it ends
            # the current process_data_events as soon as a waited-for callback fired.
            connection.call_later(0, noop)

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
        if not wait(connection, lambda: bool(selected), confirm_timeout_s):
            raise pika.exceptions.AMQPConnectionError("no Confirm.SelectOk in time")
        session = Session(connection, channel, confirms, generation)
        ready(session)
    except BaseException:
        close_quietly(connection)
        raise
    return session


def admin(session: Session) -> Any:
    if session.admin is None or not session.admin.is_open:
        session.admin = session.connection.channel()
    return session.admin


def wait(connection: Any, done: Callable[[], bool], timeout_s: float) -> bool:
    """Run I/O until `done()` or the timeout. Always runs once: that dispatches
    Basic.Return events even when every confirm came in while publishing."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        connection.process_data_events(time_limit=max(0.0, min(remaining, WAIT_SLICE_S)))
        if done():
            return True
        if remaining <= 0:
            return False


def close_quietly(connection: Any) -> None:
    try:
        if connection.is_open:
            connection.close()
    except PIKA_ERRORS:
        pass  # already broken: nothing left to release
