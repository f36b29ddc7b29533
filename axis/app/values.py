"""The typed requests and answers of the agency operations: plain frozen values that
every edge encodes its own way (REST as JSON, SOAP as body elements). The receipt of a
submission is the routing core's `Receipt` (axis/route/model.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from axis.edxml.model import Kind
from axis.registry.model import Agency
from axis.route.model import Delivery, InboxItem, PackageContent, TrailEntry, TransportState

# Bounds every edge shares (REST documents them in OpenAPI, SOAP in the WSDL).
MAX_PAGE = 500
DEFAULT_PAGE = 100
MAX_OFFSET = 1_000_000
MAX_DOC_ID = 200  # a transport id (the node's UUIDs, with room for another node's)
MAX_DOCUMENT_ID = 500  # a business DocumentId


@dataclass(frozen=True, slots=True)
class InboxFilters:
    """What `list_received` selects: one kind, an `available_at` range [since, until),
    and a page."""

    kind: Kind | None = None
    since: datetime | None = None
    until: datetime | None = None
    offset: int = 0
    limit: int = DEFAULT_PAGE


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: tuple[InboxItem, ...]
    offset: int
    limit: int
    next_offset: int | None  # None on the last page


@dataclass(frozen=True, slots=True)
class TakenCopy:
    """A recipient's copy as taken: the delivery (delivered_at, effective_at: Art. 11.2)
    and the package exactly as the sender signed it, checked and read when sent."""

    delivery: Delivery
    content: PackageContent

    @property
    def raw(self) -> bytes:
        """The bytes in one value: for the edges that need one (SOAP's base64 field)."""
        return self.content.read()


@dataclass(frozen=True, slots=True)
class TransportUpdate:
    doc_id: str
    status: TransportState


@dataclass(frozen=True, slots=True)
class TrailView:
    """The part of a document's history the caller may see (axis/auth/visibility.py)."""

    document_id: str
    entries: tuple[TrailEntry, ...]


@dataclass(frozen=True, slots=True)
class AgencyView:
    caller: str  # the agency the request was authenticated as
    agencies: tuple[Agency, ...]
