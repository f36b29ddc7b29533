"""Dead letters of the channels that retry (push, peer): giving a copy up and an
operator's second chance, once for both. The state changes are axis/route/delivery.py's;
the attempt budget is forgotten after the transaction (on SQLite its table is another
write)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from axis.route import delivery as deliveries
from axis.route.exchange import Exchange
from axis.route.model import Delivery, DeliveryState


class Budgets(Protocol):
    def forget(self, delivery_id: str) -> None: ...


def give_up(exchange: Exchange, budgets: Budgets, delivery_id: str, *, at: datetime,
            attempts: int, last_error: str, endpoint: str, channel: str) -> Delivery | None:
    """AVAILABLE → FAILED, out of the inbox, trail and journal; the copy as it was, or
    None when it was meanwhile taken or withdrawn."""
    with exchange.store.transaction() as tx:
        d = tx.get_delivery(delivery_id, for_update=True)
        live = d is not None and d.state is DeliveryState.AVAILABLE
        if d is not None and live:
            deliveries.failed(tx, d, at, attempts=attempts, last_error=last_error,
                              endpoint=endpoint, channel=channel)
    budgets.forget(delivery_id)
    return d if live else None


def requeue(exchange: Exchange, budgets: Budgets, delivery_id: str, *, at: datetime,
            actor: str, reason: str) -> bool:
    """FAILED → AVAILABLE with a fresh budget; False when the copy is not a dead letter."""
    with exchange.store.transaction() as tx:
        d = tx.get_delivery(delivery_id, for_update=True)
        if d is None or d.state is not DeliveryState.FAILED:
            return False
        deliveries.requeued(tx, d, at, actor=actor, reason=reason)
    budgets.forget(delivery_id)
    return True
