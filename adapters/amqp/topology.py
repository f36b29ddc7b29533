"""Names, arguments and message format of the broker layout, without pika.

Kept apart from `rabbit.py` so that the in-process broker validates messages by the very
same rules, and so that the layout can be read (and tested) without a broker. Why the
layout is what it is: `docs/broker.md`.

    <prefix>.deliveries        direct exchange, durable; routing key = agency identifier
    <prefix>.agency.<id>       classic queue, durable, x-max-priority 4, bound by <id>
    <prefix>.retry             headers exchange, durable; header axis-delay picks the queue
    <prefix>.retry.<ms>ms      classic queue, durable, x-message-ttl <ms>,
                               x-dead-letter-exchange <prefix>.deliveries (back to the agency)
    <prefix>.dead              classic queue, durable: messages nobody could process

The `quorum` layout (a RabbitMQ cluster, docs/deployment.md) replaces each agency's
priority queue by two replicated quorum queues, because quorum queues carry at most two
priority levels (none at all on 3.10): urgency travels in the routing key instead.

    <prefix>.agency.<id>.urgent  quorum queue, bound by <id>.urgent: edXML Priority 1–4
    <prefix>.agency.<id>         quorum queue, bound by <id>: Priority 0

A fetch drains the urgent queue before taking from the normal one (Art. 7.2: an urgent
document never waits behind normal ones); among urgent ones, publication order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axis.route.broker import BrokerMessage

# edXML OtherInfo/Priority runs 0–4 (Art. 7.2: the higher, the more urgent) and maps 1:1
# onto AMQP priorities. A larger x-max-priority would only cost Erlang processes.
MAX_PRIORITY = 4
MAX_ID_LENGTH = 200  # AMQP short strings are 255 bytes; leave room for the prefix

# Headers the transport itself writes. A message's own headers may not use them: what a
# consumer gets back must equal what was published, so these are stripped on the way out.
# "x-" is the broker's namespace (x-death, x-first-death-*, ...).
LAYOUTS = ("classic", "quorum")
URGENT_FROM = 1  # edXML Priority 1 (khẩn) and above go to the urgent queue (quorum layout)
URGENT_SUFFIX = ".urgent"

HEADER_AGENCY = "axis-agency"
HEADER_ATTEMPT = "axis-attempt"
HEADER_DELAY = "axis-delay"
HEADER_DEAD_REASON = "axis-dead-reason"
RESERVED_HEADER_PREFIXES = ("axis-", "x-")


def is_reserved_header(key: str) -> bool:
    return key.lower().startswith(RESERVED_HEADER_PREFIXES)


def check_agency_id(agency_id: str) -> None:
    """An agency identifier usable as routing key and queue-name suffix."""
    if not agency_id or len(agency_id) > MAX_ID_LENGTH or not agency_id.isprintable():
        raise ValueError(f"unusable agency identifier for the broker: {agency_id!r}")
    if any(ch.isspace() for ch in agency_id):
        raise ValueError(f"agency identifier contains whitespace: {agency_id!r}")


def check_message(message: BrokerMessage) -> None:
    """Reject what no broker could carry faithfully. These are programming errors of the
    caller (the core validated the package long before), hence ValueError, not AxisError."""
    check_agency_id(message.agency_id)
    if not message.delivery_id or len(message.delivery_id) > MAX_ID_LENGTH:
        raise ValueError(f"unusable delivery id: {message.delivery_id!r}")
    if not 0 <= message.priority <= MAX_PRIORITY:
        raise ValueError(f"priority {message.priority} outside 0–{MAX_PRIORITY} (Art. 7.2)")
    keys = [key for key, _ in message.headers]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate header names in {keys}")
    reserved = [key for key in keys if is_reserved_header(key)]
    if reserved:
        raise ValueError(f"headers {reserved} use a name reserved for the transport")


def encode_headers(
    message: BrokerMessage, attempt: int, extra: dict[str, str]
) -> dict[str, object]:
    """AMQP headers of a message: its own, then the transport's (agency, attempt, …)."""
    headers: dict[str, object] = dict(message.headers)
    headers[HEADER_AGENCY] = message.agency_id
    headers[HEADER_ATTEMPT] = attempt
    headers.update(extra)
    return headers


def decode_message(
    headers: dict[str, Any] | None, message_id: str | None, priority: int | None, body: bytes
) -> BrokerMessage:
    """The message as published: the transport's and the broker's headers (x-death …)
    are dropped, except the dead-letter reason, which operators need to see."""
    headers = headers or {}
    own = tuple((key, str(value)) for key, value in headers.items()
                if not is_reserved_header(key))
    reason = headers.get(HEADER_DEAD_REASON)
    if reason is not None:
        own = (*own, (HEADER_DEAD_REASON, str(reason)))
    return BrokerMessage(
        delivery_id=message_id or "",
        agency_id=str(headers.get(HEADER_AGENCY, "")),
        priority=priority or 0,
        body=body,
        headers=own,
    )


def delay_for_attempt(retry_delays_ms: tuple[int, ...], attempt: int) -> int:
    """Back-off before delivery number `attempt + 1`, after `attempt` failed.
    The last delay repeats when there are more attempts than delays."""
    if not retry_delays_ms:
        raise ValueError("retry_delays_ms must name at least one delay")
    return retry_delays_ms[min(max(attempt, 1), len(retry_delays_ms)) - 1]


def dead_reason(*, retry: bool, attempt: int) -> str:
    """Why a message went to the dead-letter queue (shown to operators)."""
    if not retry:
        return f"rejected at attempt {attempt}"
    return f"gave up after {attempt} attempt{'' if attempt == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class AgencyQueue:
    """One queue of an agency: its name, the routing key that binds it, its arguments."""

    name: str
    routing_key: str
    arguments: dict[str, object]


@dataclass(frozen=True, slots=True)
class Topology:
    prefix: str
    retry_delays_ms: tuple[int, ...]
    layout: str = "classic"

    def __post_init__(self) -> None:
        if not self.prefix or any(ch.isspace() for ch in self.prefix):
            raise ValueError(f"unusable broker prefix: {self.prefix!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"broker layout must be one of {LAYOUTS}: {self.layout!r}")
        if not self.retry_delays_ms or any(d < 0 for d in self.retry_delays_ms):
            raise ValueError(f"retry delays must be ≥ 0 ms: {self.retry_delays_ms}")

    @property
    def deliveries_exchange(self) -> str:
        return f"{self.prefix}.deliveries"

    @property
    def retry_exchange(self) -> str:
        return f"{self.prefix}.retry"

    @property
    def dead_queue(self) -> str:
        return f"{self.prefix}.dead"

    def agency_queue(self, agency_id: str) -> str:
        return f"{self.prefix}.agency.{agency_id}"

    def agency_queues(self, agency_id: str) -> tuple[AgencyQueue, ...]:
        """The agency's queues in the order a fetch drains them."""
        normal = self.agency_queue(agency_id)
        if self.layout == "classic":
            return (AgencyQueue(normal, agency_id, self.agency_queue_arguments()),)
        quorum: dict[str, object] = {"x-queue-type": "quorum"}
        return (AgencyQueue(normal + URGENT_SUFFIX, agency_id + URGENT_SUFFIX, quorum),
                AgencyQueue(normal, agency_id, quorum))

    def routing_key(self, message: BrokerMessage) -> str:
        """Where the deliveries exchange routes `message` (and, after a back-off, the
        retry queue sends it back): its agency, urgent ones apart in the quorum layout."""
        if self.layout == "quorum" and message.priority >= URGENT_FROM:
            return message.agency_id + URGENT_SUFFIX
        return message.agency_id

    def retry_queue(self, delay_ms: int) -> str:
        return f"{self.prefix}.retry.{delay_ms}ms"

    @property
    def distinct_delays(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.retry_delays_ms)))

    @staticmethod
    def agency_queue_arguments() -> dict[str, object]:
        # Classic, not quorum: RabbitMQ 3.10 quorum queues ignore priorities, and one queue
        # per agency must let an urgent document overtake the backlog (Art. 7.2). Stated
        # explicitly so that a vhost whose default queue type is quorum (4.x) cannot
        # silently drop the priorities. No x-queue-mode: lazy is a no-op from 3.12 on and a
        # queue argument can never be changed; on 3.10/3.11 use a policy if wanted.
        return {"x-queue-type": "classic", "x-max-priority": MAX_PRIORITY}

    def retry_queue_arguments(self, delay_ms: int) -> dict[str, object]:
        # Every message in one retry queue has the same TTL, so expiry happens in order at
        # the head: no per-message TTL stuck behind a longer one. On expiry the broker
        # dead-letters the message to the deliveries exchange with its original routing key
        # (the agency identifier), i.e. back into the agency's queue, priority intact.
        return {
            "x-queue-type": "classic",
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": self.deliveries_exchange,
        }

    @staticmethod
    def retry_binding_arguments(delay_ms: int) -> dict[str, object]:
        # A headers exchange, because the routing key must stay the agency identifier for
        # the way back; the delay travels in a header instead.
        return {"x-match": "all", HEADER_DELAY: str(delay_ms)}

    @staticmethod
    def dead_queue_arguments() -> dict[str, object]:
        return {"x-queue-type": "classic"}
