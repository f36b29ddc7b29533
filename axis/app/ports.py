"""What the operations need from the rest of the node, as protocols: the exchange (the
routing core's accept/take/update), the registry as a directory, and a read-only view of
the trail. The composition root (`adapters/node.py`) hands in the real ones."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from axis.edxml.model import Kind
from axis.errors import AxisError
from axis.registry.model import Agency, AgencyKind, AgencyState
from axis.route.model import (
    Delivery,
    InboxItem,
    PackageContent,
    Receipt,
    TrailEntry,
    TransportState,
)


class Exchange(Protocol):
    """The routing core's operations (axis/route/exchange.py) the agency API calls."""

    def submit(
        self, raw: bytes, *, kind: Kind | None = None,
        sender_allowed: Callable[[str], bool] | None = None,
    ) -> Receipt: ...

    def refused(self, exc: AxisError, raw: bytes, at: datetime | None = None) -> None: ...

    def inbox(self, agency_id: str, **filters: object) -> list[InboxItem]: ...

    def take_copy(
        self, agency_id: str, delivery_id: str) -> tuple[Delivery, PackageContent]: ...

    def update_transport(
        self, agency_id: str, delivery_id: str, state: TransportState) -> None: ...


class Directory(Protocol):
    """The registry as the operations read it."""

    def find(self, identifier: str) -> Agency | None: ...

    def list(
        self, *, state: AgencyState | None = None, kind: AgencyKind | None = None
    ) -> builtins.list[Agency]: ...

    def children_of(
        self, identifier: str, *, recursive: bool = False) -> builtins.list[Agency]: ...

    def speaks_for(self, authenticated: str, sender: str) -> bool: ...


class TrailTx(Protocol):
    def trail(self, document_id: str) -> list[TrailEntry]: ...

    def get_delivery(self, delivery_id: str, *, for_update: bool = False) -> Delivery | None:
        ...


class TrailStore(Protocol):
    """Read-only access to a document's trail and the deliveries it names."""

    def reading(self) -> AbstractContextManager[TrailTx]: ...
