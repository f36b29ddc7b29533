"""The hand-over: outbox entries to the broker, broker messages into inboxes.

One concept, apart from accepting packages (exchange.py): the relay publishes committed
outbox entries with publisher confirms and marks them sent; the consumer moves what the
broker hands out into its recipient's inbox by delivery id, idempotently, and acknowledges
only after the commit. A crash between any two steps therefore loses nothing (the outbox
is replayed, an unacknowledged message is redelivered) and duplicates nothing (delivery
ids are unique, `delivery.available` only leaves QUEUED). Every state change goes through
axis/route/delivery.py, the single owner of a delivery's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from axis.clock import Clock
from axis.errors import AxisError
from axis.route import delivery as deliveries
from axis.route.broker import BrokerMessage, BrokerPort, ReceivedMessage
from axis.route.model import DeliveryState
from axis.route.ports import RouteStore


@dataclass(slots=True)
class Handover:
    store: RouteStore
    broker: BrokerPort
    clock: Clock

    def relay_once(self, limit: int = 500) -> int:
        """Publish a batch of outbox entries, urgent first (Art. 7.2: the claim is ordered
        by priority), with pipelined confirms (one wait for the batch); mark them sent."""
        with self.store.transaction() as tx:
            entries = tx.claim_outbox(limit)
            if not entries:
                return 0
            for agency_id in {e.agency_id for e in entries}:
                self.broker.ensure_agency(agency_id)
            self.broker.publish_batch([
                BrokerMessage(e.delivery_id, e.agency_id, e.priority, e.body) for e in entries
            ])
            # Crash here: the entries are published again later; the consumer dedupes.
            tx.mark_sent([e.entry_id for e in entries], self.clock.now())
            return len(entries)

    def deliver_direct(self, limit: int = 500) -> int:
        """The embedded default's hand-over: the outbox itself is the queue. A batch of
        entries, urgent first (Art. 7.2), goes into the inboxes and leaves the outbox in
        the same transaction, so a crash at any instant loses nothing and moves nothing
        twice; there is no in-memory broker state to lose. Returns the entries taken."""
        with self.store.transaction() as tx:
            entries = tx.claim_outbox(limit)
            for entry in entries:
                d = tx.get_delivery(entry.delivery_id, for_update=True)
                if d is not None and d.state is DeliveryState.QUEUED:
                    deliveries.available(tx, d, self.clock.now())
            tx.mark_sent([e.entry_id for e in entries], self.clock.now())
            return len(entries)

    def consume_once(self, agency_id: str, max_messages: int = 100) -> int:
        """Move what the broker holds for an agency into its inbox; ack after commit.

        Whatever fails half-way (the database restarting, a lost connection, a bug), every
        message of the batch not yet settled goes back to the broker before the error
        propagates: a fetched message left unsettled on a live connection is never
        redelivered, and its copy (accepted, with a receipt) would reach no inbox."""
        moved = 0
        # Declared once per connection (cached): fetching from a queue that does not exist
        # yet would cost RabbitMQ a channel error on every pass.
        self.broker.ensure_agency(agency_id)
        pending = list(self.broker.fetch(agency_id, max_messages))
        try:
            while pending:
                received = pending[0]
                delivery_id = received.message.delivery_id
                with self.store.transaction() as tx:
                    d = tx.get_delivery(delivery_id, for_update=True)
                    if d is not None and d.state is DeliveryState.QUEUED:
                        deliveries.available(tx, d, self.clock.now())
                        moved += 1
                pending.pop(0)  # committed: from here redelivery is harmless
                if d is None:
                    self.broker.reject(received, retry=False)  # nothing to deliver: park
                else:
                    self.broker.ack(received)
        except BaseException:
            give_back(self.broker, pending)
            raise
        return moved


def give_back(broker: BrokerPort, pending: list[ReceivedMessage]) -> None:
    """Return unprocessed messages to their queue at once (no attempt counted: the node
    failed, not the message). If the broker cannot take them back either, drop its
    connection: RabbitMQ requeues whatever a closed connection held."""
    for received in pending:
        try:
            broker.release(received)
        except (AxisError, ValueError):
            broker.close()
            return
