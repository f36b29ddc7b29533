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

from collections.abc import Sequence
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

    def relay_once(self, limit: int = 500) -> list[BrokerMessage]:
        """Publish a batch of outbox entries, urgent first (Art. 7.2: the claim is ordered
        by priority), with pipelined confirms (one wait for the whole batch); mark them
        sent in the claiming transaction. Returns what was published ([]: outbox empty)."""
        with self.store.transaction() as tx:
            entries = tx.claim_outbox(limit)
            if not entries:
                return []
            for agency_id in {e.agency_id for e in entries}:
                self.broker.ensure_agency(agency_id)
            messages = [BrokerMessage(e.delivery_id, e.agency_id, e.priority, e.body)
                        for e in entries]
            self.broker.publish_batch(messages)
            # Crash here: the entries are published again later; the consumer dedupes.
            tx.mark_sent([e.entry_id for e in entries], self.clock.now())
            return messages

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

    def move(self, batch: Sequence[ReceivedMessage]) -> int:
        """Move a batch the broker handed out into the inboxes: ONE transaction for the
        whole batch (group commit), then the acks, only after the commit. Returns how many
        copies reached an inbox (a redelivered copy already there counts nothing).

        Whatever fails before the commit (the database restarting, a bug), every message
        of the batch goes back to the broker before the error propagates: a message held
        unsettled on a live connection is never redelivered, and its copy (accepted, with
        a receipt) would reach no inbox. The transaction rolled back, so none of the batch
        is in an inbox: giving all of it back loses and duplicates nothing."""
        moved = 0
        unknown: list[ReceivedMessage] = []
        try:
            with self.store.transaction() as tx:
                at = self.clock.now()
                # Rows locked in one fixed order (delivery id), as recall.lock_copies does:
                # two transactions locking copies in different orders could deadlock.
                for received in sorted(batch, key=lambda r: r.message.delivery_id):
                    d = tx.get_delivery(received.message.delivery_id, for_update=True)
                    if d is None:
                        unknown.append(received)
                    elif d.state is DeliveryState.QUEUED:
                        deliveries.available(tx, d, at)
                        moved += 1
        except BaseException:
            give_back(self.broker, list(batch))
            raise
        # Committed: from here a redelivery is harmless (delivery ids deduplicate).
        parked = {id(r) for r in unknown}
        self.broker.ack_many([r for r in batch if id(r) not in parked])
        for received in unknown:
            self.broker.reject(received, retry=False)  # nothing to deliver: dead-letter
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
