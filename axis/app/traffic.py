"""The traffic reads, once for every edge that shows the node's traffic to the people who
run and audit it (the console's Overview, Messages and Document pages; issue 11, item 5).

Who may see what is the edge's gate (axis/auth/roles.py: a viewer sees metadata, an
auditor also the bytes); these operations decide what a query means (an agency in either
identifier form, the bounds of a page, the windows of the overview) and compute the
figures from what the store counts (`TrafficReads`, adapters/store/traffic_repo.py) and
the live gauges the node already reads for /metrics and /readyz (`GaugeSources`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from axis import errors
from axis.app.agency import identifier
from axis.app.ports import Directory
from axis.app.traffic_values import (
    MAX_EXPORT_ROWS,
    MAX_MESSAGES_PAGE,
    DocumentView,
    Gauges,
    LatencyDay,
    MessagePage,
    MessageQuery,
    MessageRow,
    Overview,
    Series,
    Waiting,
)
from axis.app.values import MAX_DOC_ID, MAX_DOCUMENT_ID, MAX_OFFSET
from axis.clock import as_vietnam
from axis.federation.peers import PeerView
from axis.health import Beat
from axis.route.model import DeliveryState, PackageContent, StoredPackage

HOURS, DAYS = 48, 30
STATUS_CODES = tuple(f"{n:02d}" for n in range(1, 17))  # spec §5: 01–16
HOUR, DAY = "hour", "day"
T = TypeVar("T")


class TrafficReads(Protocol):
    """What the store counts and lists for these operations (all reads)."""

    def counts(self, since: datetime, bucket: str) -> tuple[dict[str, int], dict[str, int]]:
        """Packages accepted and refused since `since`, by bucket key ("YYYY-MM-DDTHH"
        for hours, "YYYY-MM-DD" for days, Vietnam time)."""
        ...

    def refusals_by_code(self, since: datetime) -> dict[str, int]: ...

    def latencies(self, since: datetime) -> Iterator[tuple[str, float]]:
        """(day delivered, seconds from accepted to delivered) of every copy delivered
        since `since`, streamed."""
        ...

    def waiting(self, limit: int) -> list[Waiting]:
        """Recipients with copies queued or available, the most waiting first."""
        ...

    def search(self, query: MessageQuery, agency_id: str) -> list[MessageRow]:
        """One page of copies (`query.limit` rows), newest first."""
        ...

    def document(self, document_id: str) -> DocumentView: ...

    def package(self, sha256: str) -> StoredPackage | None: ...


@dataclass(frozen=True, slots=True)
class GaugeSources:
    """Where the live figures come from (the node's `scrape_sources` and the app's
    health registry); each may raise when its part is away."""

    queue_depths: Callable[[], Mapping[str, int]]
    certificate_expires: Callable[[], datetime]
    crl_ages: Callable[[datetime], Mapping[str, timedelta]]
    peers: Callable[[], Sequence[PeerView]]
    beats: Callable[[datetime], Sequence[Beat]]


def _bucket_keys(now: datetime, bucket: str) -> tuple[datetime, tuple[str, ...]]:
    """The window's start and every bucket key in it, oldest first."""
    local = as_vietnam(now)
    if bucket == HOUR:
        last = local.replace(minute=0, second=0, microsecond=0)
        start = last - timedelta(hours=HOURS - 1)
        return start, tuple((start + timedelta(hours=i)).strftime("%Y-%m-%dT%H")
                            for i in range(HOURS))
    last = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = last - timedelta(days=DAYS - 1)
    return start, tuple((start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(DAYS))


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank percentile of sorted values (q in (0, 1])."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _safe(read: Callable[[], T], fallback: T) -> T:
    try:
        return read()
    except Exception:  # a part that is away shows as empty; /readyz says why
        return fallback


@dataclass(frozen=True, slots=True)
class TrafficOperations:
    reads: TrafficReads
    directory: Directory
    blobs: Callable[[str], PackageContent]  # the stored bytes of a package by digest

    # --- overview ----------------------------------------------------------------------
    def series(self, now: datetime, bucket: str) -> Series:
        if bucket not in (HOUR, DAY):
            raise errors.API_INVALID_REQUEST.error("bucket: hour or day")
        start, keys = _bucket_keys(now, bucket)
        accepted, refused = self.reads.counts(start, bucket)
        return Series(keys, tuple(accepted.get(k, 0) for k in keys),
                      tuple(refused.get(k, 0) for k in keys))

    def refusals(self, now: datetime) -> tuple[tuple[str, int], ...]:
        start, _ = _bucket_keys(now, DAY)
        counted = self.reads.refusals_by_code(start)
        return tuple(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))

    def latency(self, now: datetime) -> tuple[LatencyDay, ...]:
        start, keys = _bucket_keys(now, DAY)
        by_day: dict[str, list[float]] = {}
        for day, seconds in self.reads.latencies(start):
            by_day.setdefault(day, []).append(max(0.0, seconds))
        out = []
        for day in keys:
            values = sorted(by_day.get(day, ()))
            out.append(LatencyDay(day, len(values), percentile(values, 0.5),
                                  percentile(values, 0.95)))
        return tuple(out)

    def gauges(self, now: datetime, sources: GaugeSources) -> Gauges:
        depths: dict[str, int] = _safe(lambda: dict(sources.queue_depths()), {})
        expires: datetime | None = _safe(sources.certificate_expires, None)
        ages: dict[str, timedelta] = _safe(lambda: dict(sources.crl_ages(now)), {})
        peers: tuple[PeerView, ...] = _safe(lambda: tuple(sources.peers()), ())
        beats: tuple[Beat, ...] = _safe(lambda: tuple(sources.beats(now)), ())
        return Gauges(depths, expires, ages, peers, beats)

    def waiting(self, limit: int = 15) -> tuple[Waiting, ...]:
        return tuple(self.reads.waiting(max(1, min(limit, 500))))

    def overview(self, now: datetime, sources: GaugeSources, *,
                 waiting_limit: int = 50) -> Overview:
        days = self.series(now, DAY)
        return Overview(
            at=now, hours=self.series(now, HOUR), days=days, accepted=sum(days.accepted),
            refused_by_code=self.refusals(now), latency=self.latency(now),
            waiting=self.waiting(waiting_limit),
            gauges=self.gauges(now, sources))

    # --- messages ----------------------------------------------------------------------
    def check(self, query: MessageQuery) -> MessageQuery:
        """The query with its bounds checked (`api.invalid_request` otherwise)."""
        if not 0 <= query.offset <= MAX_OFFSET:
            raise errors.API_INVALID_REQUEST.error(f"offset: 0 to {MAX_OFFSET}")
        if not 1 <= query.limit <= MAX_MESSAGES_PAGE:
            raise errors.API_INVALID_REQUEST.error(f"limit: 1 to {MAX_MESSAGES_PAGE}")
        if query.document_id:
            identifier("documentId", query.document_id, MAX_DOCUMENT_ID)
        if query.delivery_id:
            identifier("docId", query.delivery_id, MAX_DOC_ID)
        if query.agency:
            identifier("agency", query.agency, MAX_DOC_ID)
        if query.status_code and query.status_code not in STATUS_CODES:
            raise errors.API_INVALID_REQUEST.error("status: 01 to 16")
        if query.state and query.state not in {s.value for s in DeliveryState}:
            raise errors.API_INVALID_REQUEST.error("state: " + ", ".join(
                s.value for s in DeliveryState))
        if query.business_type is not None and not 0 <= query.business_type <= 3:
            raise errors.API_INVALID_REQUEST.error("business type: 0 to 3")
        if query.priority is not None and not 0 <= query.priority <= 9:
            raise errors.API_INVALID_REQUEST.error("priority: 0 to 9")
        return query

    def _agency_id(self, named: str) -> str:
        """Either identifier form to the routing form; an identifier the registry does
        not know is searched as given (an agency another node serves, a retired one)."""
        if not named.strip():
            return ""
        found = self.directory.find(named)
        return found.agency_id if found is not None else named.strip()

    def search(self, query: MessageQuery) -> MessagePage:
        q = self.check(query)
        agency_id = self._agency_id(q.agency)
        rows = self.reads.search(replace(q, limit=q.limit + 1), agency_id)
        more = len(rows) > q.limit
        return MessagePage(q, agency_id, tuple(rows[:q.limit]),
                           q.offset + q.limit if more else None)

    def export(self, query: MessageQuery) -> Iterable[MessageRow]:
        """Every row the query selects (at most MAX_EXPORT_ROWS), page by page: the
        export never holds the whole result."""
        q = self.check(replace(query, offset=0, limit=MAX_MESSAGES_PAGE))
        agency_id = self._agency_id(q.agency)
        sent = 0
        while sent < MAX_EXPORT_ROWS:
            rows = self.reads.search(replace(q, offset=sent), agency_id)
            yield from rows[:MAX_EXPORT_ROWS - sent]
            sent += len(rows)
            if len(rows) < q.limit:
                return

    # --- one document --------------------------------------------------------------------
    def document(self, document_id: str) -> DocumentView:
        """Everything the node holds about one document (`api.document_unknown` when
        nothing)."""
        identifier("documentId", document_id, MAX_DOCUMENT_ID)
        view = self.reads.document(document_id)
        if not view.packages and not view.trail:
            raise errors.API_DOCUMENT_UNKNOWN.error(repr(document_id))
        return view

    def package(self, sha256: str) -> tuple[StoredPackage, PackageContent]:
        """A stored package and its bytes (`api.document_unknown` when not stored)."""
        identifier("sha256", sha256, 64)
        stored = self.reads.package(sha256)
        if stored is None:
            raise errors.API_DOCUMENT_UNKNOWN.error(f"package {sha256}")
        return stored, self.blobs(sha256)
