"""Route store under test: SqlRouteStore on a fresh SQLite file or PostgreSQL schema
(`store_support.database_url`), tables made by `metadata.create_all`; value builders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from store_support import database_url

from adapters.store.db import make_engine, metadata
from adapters.store.route_repo import SqlRouteStore
from adapters.store.route_tables import ROUTE_TABLES
from axis.clock import VN_TZ
from axis.edxml.model import Kind
from axis.route.model import Delivery, DeliveryState, InboxItem, StoredPackage

T0 = datetime(2024, 5, 6, 8, 30, 0, 123456, tzinfo=VN_TZ)
SENDER = "000.00.01.H37"
RECIPIENT = "000.00.02.H37"
SHA = "a" * 64
# Same body on both; only PostgreSQL needs a service (skipped on a laptop without it).
BACKENDS = [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.service)]


@contextmanager
def engine_for(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """The node's own engine on an empty database holding the route tables."""
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            metadata.create_all(engine, tables=list(ROUTE_TABLES))
            yield engine
        finally:
            engine.dispose()


@contextmanager
def route_store(backend: str, tmp_path: Path) -> Iterator[SqlRouteStore]:
    with engine_for(backend, tmp_path) as engine:
        yield SqlRouteStore(engine)


def package(sha: str = SHA, document_id: str = "doc-1") -> StoredPackage:
    return StoredPackage(sha256=sha, size=1234, kind=Kind.EDOC, sender_id=SENDER,
                         document_id=document_id, received_at=T0, signature="verified",
                         signer_fingerprint="f" * 64)


def delivery(
    delivery_id: str,
    *,
    recipient: str = RECIPIENT,
    document_id: str = "doc-1",
    kind: Kind = Kind.EDOC,
    at: datetime = T0,
    priority: int = 0,
    sha: str = SHA,
) -> Delivery:
    return Delivery(
        delivery_id=delivery_id, package_sha256=sha, kind=kind, sender_id=SENDER,
        recipient_id=recipient, document_id=document_id,
        business_type=0 if kind is Kind.EDOC else None,
        status_code=None if kind is Kind.EDOC else "03", priority=priority,
        dedupe_key=f"{kind.value}|{SENDER}|{document_id}|{recipient}|{delivery_id}",
        state=DeliveryState.QUEUED, accepted_at=at,
    )


def item(
    delivery_id: str,
    *,
    agency: str = RECIPIENT,
    kind: Kind = Kind.EDOC,
    priority: int = 0,
    at: datetime = T0,
) -> InboxItem:
    return InboxItem(delivery_id=delivery_id, agency_id=agency, sender_id=SENDER, kind=kind,
                     document_id=f"doc-{delivery_id}", business_type=0, status_code=None,
                     priority=priority, available_at=at)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
