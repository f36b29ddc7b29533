"""Bookkeeping of pipelined publisher confirms, kept free of pika so it can be unit-tested.

In confirm mode RabbitMQ numbers the messages published on a channel 1, 2, 3 … (the
delivery tag) and answers each, sooner or later and possibly for many at once
(`multiple=True`: "every tag up to and including this one"), with Basic.Ack (the broker
took responsibility: persisted, for persistent messages on durable queues) or Basic.Nack
(it could not). A mandatory message that no queue takes comes back first as Basic.Return,
then is acked. The publisher writes a whole batch, then waits until no tag is pending.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import takewhile
from typing import Any


class Confirms:
    """Delivery tags of one confirm-mode channel, from publish to Basic.Ack/Nack."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.next_tag = 1  # the broker's numbering restarts with each channel
        self.pending: dict[int, str] = {}  # delivery tag -> delivery_id
        self.nacked: list[str] = []
        self.returned: list[str] = []
        self._wake = wake  # ends the publisher's I/O wait once nothing is pending

    def published(self, delivery_id: str) -> None:
        """Record the next publish. Call it *before* writing the message: its confirm may
        be read while the client is still flushing the frames."""
        self.pending[self.next_tag] = delivery_id
        self.next_tag += 1

    def on_confirm(self, frame: Any) -> None:
        """Basic.Ack or Basic.Nack from the broker (a pika method frame)."""
        method = frame.method
        tag = method.delivery_tag
        # `pending` is in publication order, i.e. ascending tags, even after single
        # out-of-order confirms removed some: "up to tag" is a prefix of it.
        tags = list(takewhile(lambda t: t <= tag, self.pending)) if method.multiple else [tag]
        nack = method.NAME == "Basic.Nack"
        for t in tags:
            delivery_id = self.pending.pop(t, None)
            if nack and delivery_id is not None:
                self.nacked.append(delivery_id)
        if not self.pending:
            self._wake()

    def on_return(self, _channel: Any, method: Any, properties: Any, _body: bytes) -> None:
        """Basic.Return: the message was unroutable (mandatory publish)."""
        self.returned.append(
            f"{properties.message_id} to {method.routing_key!r}: {method.reply_text}")

    def take_failures(self) -> tuple[list[str], list[str]]:
        """Nacked and returned delivery ids since the last call; resets both."""
        failures = (self.nacked, self.returned)
        self.nacked, self.returned = [], []
        return failures
