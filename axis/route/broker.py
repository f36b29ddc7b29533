"""The broker port: how the core hands deliveries to a message broker and takes them back.

Two implementations honour it and pass the same contract tests
(`tests/test_broker_contract.py`): RabbitMQ (`adapters/amqp`, pika, the only module that
imports pika) and the in-process broker of the embedded default (`adapters/amqp/memory.py`).

Semantics every implementation keeps:
- `publish_batch` returns only when the broker has taken responsibility for every message
  (publisher confirms); otherwise it raises a node fault and the caller keeps them in its
  outbox. A message may therefore be published twice: consumers deduplicate by
  `delivery_id` (at-least-once transport, exactly-once effect).
- Per agency, `fetch` returns messages of higher priority first (Art. 7.2: urgent documents
  go first); equal priorities in publication order.
- A fetched message stays owned by the fetcher until `ack` or `reject`; if the fetcher dies
  (connection lost), the broker gives it out again.
- `reject(retry=True)` redelivers after a back-off, at most `max_attempts` times in all;
  then, and on `reject(retry=False)`, the message goes to the dead-letter queue.
- `release` gives a fetched message back at once, at its place, with no attempt counted:
  what a consumer does with the part of a batch it could not process because the node
  (not the message) failed, e.g. its database went away mid-batch.
- Consuming (what the node's worker does, instead of fetching queue by queue): `subscribe`
  names the agencies whose queues are consumed, with a bounded prefetch; `receive` hands
  out what the broker delivered, most urgent first across the whole buffer (Art. 7.2),
  waiting at most `timeout_s` for the first message; `interrupt` (thread-safe) ends that
  wait early; `ack_many` settles a batch processed together (one transaction) at once.
  What `receive` handed out is owned like a fetched message: ack, reject or release it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BrokerMessage:
    delivery_id: str  # unique per (package, recipient): the consumer's deduplication key
    agency_id: str  # the recipient: the routing key
    priority: int  # 0–4, edXML OtherInfo/Priority
    body: bytes  # a small JSON reference to the stored package, never the package
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    message: BrokerMessage
    attempt: int  # 1 on first delivery
    redelivered: bool
    handle: object = field(compare=False, repr=False)  # implementation's delivery tag


class BrokerPort(Protocol):
    def ensure_agency(self, agency_id: str) -> None:
        """Declare (idempotently) what the agency's deliveries need: queue, bindings."""

    def publish_batch(self, messages: Sequence[BrokerMessage]) -> None:
        """Publish and wait for every confirm; raise a node-fault AxisError otherwise."""

    def fetch(self, agency_id: str, max_messages: int = 1) -> list[ReceivedMessage]:
        """Up to `max_messages` waiting for the agency, highest priority first; [] if none."""

    def ack(self, received: ReceivedMessage) -> None: ...

    def subscribe(self, agency_ids: Collection[str]) -> None:
        """Consume exactly these agencies' queues (declared if needed): new ones are added,
        the others cancelled (what they delivered stays owned until settled). Idempotent
        and cheap when nothing changed; after a lost connection it consumes again."""

    def receive(self, max_messages: int, timeout_s: float) -> list[ReceivedMessage]:
        """Up to `max_messages` delivered to the subscription, highest priority first;
        waits up to `timeout_s` for the first one; [] on timeout or `interrupt`."""

    def interrupt(self) -> None:
        """From any thread: end a `receive` that is waiting now (or the next one)."""

    def ack_many(self, received: Sequence[ReceivedMessage]) -> None:
        """Ack a batch processed together (one frame where the broker allows it)."""

    def reject(self, received: ReceivedMessage, *, retry: bool) -> None: ...

    def release(self, received: ReceivedMessage) -> None:
        """Give a fetched message back unprocessed: ready again now, attempt unchanged."""

    def depth(self, agency_id: str) -> int:
        """Messages waiting for the agency (not counting those fetched and unacked)."""

    def dead_letters(self, max_messages: int = 100) -> list[ReceivedMessage]:
        """Messages parked in the dead-letter queue (for operators; ack to drop them)."""

    def close(self) -> None: ...
