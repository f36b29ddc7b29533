"""Reconciliation: find what should have moved on and did not, and move it again.

The outbox and the broker's confirms make a hand-over safe at each step, but a delivery
can still be stranded between them: marked sent yet lost with a broker's memory (the
embedded default before the outbox became its queue, a RabbitMQ node lost without its
disk), or fetched by a consumer whose connection outlived its failure. A pass, at start
and then on the node's scheduler, republishes every delivery accepted more than a bound
ago that is in no inbox and not waiting in its queue; the consumer deduplicates by
delivery id, so republishing is idempotent. It also emits the node's status 01 for copies
taken while the 01 could not be written (a full disk): taking never waits on it.

Both brokers run the same pass; only `waiting` (the broker's queue depth) differs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from axis.route.model import Delivery, DeliveryState
from axis.route.ports import RouteStore, RouteTx


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    republished: int  # deliveries handed to the outbox again
    arrivals: int  # node 01s emitted for copies taken without one
    waiting: tuple[str, ...] = ()  # agencies skipped: their queue still holds messages


Republish = Callable[[RouteTx, Delivery, datetime], None]
EmitArrival = Callable[[RouteTx, Delivery, datetime], None]


def stranded(
    store: RouteStore, now: datetime, *, after: timedelta, consumed: Collection[str] | None,
) -> int:
    """Deliveries accepted more than `after` ago that are still in no inbox, for agencies
    whose copies the node itself moves (pull and push). The delivery health signal."""
    with store.reading() as tx:
        counts = tx.queued_since(now - after)
    return sum(n for agency, n in counts.items() if consumed is None or agency in consumed)


def reconcile(
    store: RouteStore, now: datetime, *, after: timedelta, limit: int,
    consumed: Collection[str] | None, waiting: Callable[[str], int],
    republish: Republish, emit_arrival: EmitArrival,
) -> ReconcileReport:
    """`consumed`: the agencies whose copies the node moves into inboxes (agencies that
    consume their own AMQP queue settle their copies themselves); None: every agency."""
    before = now - after
    with store.transaction() as tx:
        candidates = tx.stranded_deliveries(before, limit, consumed)
    # A queue that still holds messages is being worked through (a backlog, a retry
    # waiting its back-off): what it holds is not lost. Asked outside the transaction.
    depth = {agency: waiting(agency) for agency in {d.recipient_id for d in candidates}}
    busy = tuple(sorted(a for a, n in depth.items() if n > 0))
    republished = 0
    for d in candidates:
        if depth[d.recipient_id] > 0:
            continue
        with store.transaction() as tx:
            current = tx.get_delivery(d.delivery_id, for_update=True)
            if current is not None and current.state is DeliveryState.QUEUED:
                republish(tx, current, now)
                republished += 1
    arrivals = 0
    with store.transaction() as tx:
        taken = tx.delivered_without_arrival(before, limit)
    for d in taken:
        with store.transaction() as tx:
            emit_arrival(tx, d, now)
            arrivals += 1
    return ReconcileReport(republished, arrivals, busy)
