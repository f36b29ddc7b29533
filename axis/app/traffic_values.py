"""The typed answers of the traffic reads (axis/app/traffic.py): what the console's
Overview, Messages and Document pages show, as plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from axis.federation.peers import PeerView
from axis.health import Beat
from axis.route.model import Delivery, StoredPackage, TrailEntry

MAX_MESSAGES_PAGE = 200
MAX_EXPORT_ROWS = 50_000  # a CSV is a report, not a dump of the database


@dataclass(frozen=True, slots=True)
class Series:
    """Packages accepted and refused per bucket (an hour or a day, Vietnam time), oldest
    first; `keys` are "YYYY-MM-DDTHH" (hours) or "YYYY-MM-DD" (days), every bucket of
    the window present, empty ones as 0."""

    keys: tuple[str, ...]
    accepted: tuple[int, ...]
    refused: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LatencyDay:
    """Accepted → delivered (taken by the recipient) for the copies delivered that day."""

    day: str
    count: int
    median_s: float
    p95_s: float


@dataclass(frozen=True, slots=True)
class Waiting:
    """Copies the node holds for one recipient (queued or available, not yet taken)."""

    agency_id: str
    count: int
    oldest: datetime


@dataclass(frozen=True, slots=True)
class Gauges:
    """The live figures /metrics reads too (the node's scrape sources) and the health
    registry /readyz reads, at one instant."""

    queue_depths: dict[str, int]  # broker depth per active agency
    certificate_expires: datetime | None
    crl_ages: dict[str, timedelta]
    peers: tuple[PeerView, ...]
    beats: tuple[Beat, ...]


@dataclass(frozen=True, slots=True)
class Overview:
    at: datetime
    hours: Series  # the last 48 hours
    days: Series  # the last 30 days
    accepted: int  # packages accepted in the last 30 days
    refused_by_code: tuple[tuple[str, int], ...]  # most frequent first
    latency: tuple[LatencyDay, ...]
    waiting: tuple[Waiting, ...]
    gauges: Gauges


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """The Messages search: every field optional; `agency` in either identifier form
    (resolved through the registry), matching the sender or the recipient."""

    document_id: str = ""
    delivery_id: str = ""
    agency: str = ""
    status_code: str = ""
    business_type: int | None = None
    priority: int | None = None
    state: str = ""
    since: datetime | None = None
    until: datetime | None = None
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One copy (delivery) with its channel's retry budget when it has one."""

    delivery: Delivery
    attempts: int | None = None
    next_attempt_at: datetime | None = None
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class MessagePage:
    query: MessageQuery
    agency_id: str  # the agency the query named, resolved ("" when none)
    rows: tuple[MessageRow, ...]
    next_offset: int | None


@dataclass(frozen=True, slots=True)
class DocumentView:
    """One document as the node holds it: the packages about it (the document, its
    updates and recalls, every status and acknowledgement), every copy, the trail."""

    document_id: str
    packages: tuple[StoredPackage, ...]
    copies: tuple[MessageRow, ...]
    trail: tuple[TrailEntry, ...]
