"""What a sender sent, newest first: the `SentLookup` the agency operations' `sent` reads
(axis/app/agency.py) for getSentEdocList. One indexed query on the deliveries table
(`ix_deliveries_document` leads with sender_id) in a read-only transaction."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.store.route_repo import translate
from adapters.store.route_tables import deliveries
from axis.edxml.model import Kind
from axis.route.model import Delivery, DeliveryState, TransportState


class SqlSentLookup:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def sent_by(self, senders: frozenset[str], *, limit: int) -> list[Delivery]:
        d = deliveries.c
        query = (select(deliveries)
                 .where(d.sender_id.in_(sorted(senders)), d.origin == "sender")
                 .order_by(d.accepted_at.desc(), d.delivery_id).limit(limit))
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise translate(exc) from exc
        out = []
        for row in rows:
            m = dict(row._mapping)
            out.append(Delivery(**{
                **m, "kind": Kind(m["kind"]), "state": DeliveryState(m["state"]),
                "transport_state": TransportState(m["transport_state"])}))
        return out
