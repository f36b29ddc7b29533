"""Contract tests of SqlTrafficReads (adapters/store/traffic_repo.py) under the traffic
operations (axis/app/traffic.py): one body, run on SQLite and on the real PostgreSQL
(skipped without it, failed in CI): buckets in Vietnam time, refusals by code from the
journal, latency percentiles, what waits, the search's filters and retry budget."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from route_support import BACKENDS, RECIPIENT, SENDER, delivery, package
from store_support import migrated_engine

from adapters.push.attempts import PushAttempts
from adapters.store.route_repo import SqlRouteStore
from adapters.store.traffic_repo import SqlTrafficReads
from axis.app.traffic import DAY, HOUR, TrafficOperations
from axis.app.traffic_values import MessageQuery
from axis.clock import VN_TZ
from axis.errors import AxisError
from axis.route.model import DeliveryState, PackageContent

# 23:30 in Vietnam is 16:30 UTC: a bucket taken in UTC would land on the wrong hour.
NOW = datetime(2026, 11, 24, 23, 30, tzinfo=VN_TZ)
OTHER = "000.00.03.H37"


class Names:
    """The registry as the operations read it: H37.02 is RECIPIENT's other form."""

    def find(self, identifier: str) -> object:
        class A:
            agency_id = RECIPIENT
        return A() if identifier.strip() in (RECIPIENT, "H37.02") else None


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRouteStore]:
    with migrated_engine(request.param, tmp_path) as engine:  # push_attempts too
        yield SqlRouteStore(engine)


def ops(store: SqlRouteStore) -> TrafficOperations:
    def blobs(sha: str) -> PackageContent:
        return PackageContent(sha, 0, lambda: iter(()))

    return TrafficOperations(SqlTrafficReads(store.engine), Names(), blobs)  # type: ignore[arg-type]


def fill(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        for n, at in enumerate((NOW - timedelta(hours=1), NOW, NOW - timedelta(days=2))):
            tx.save_package(replace(package(f"{n:x}" * 64, f"doc-{n}"), received_at=at))
        # doc-0: two copies, one delivered after 10 minutes, one waiting.
        tx.add_delivery(replace(delivery("d1", document_id="doc-0", at=NOW - timedelta(hours=1),
                                         sha="0" * 64), state=DeliveryState.DELIVERED,
                                delivered_at=NOW - timedelta(minutes=50)))
        tx.add_delivery(replace(delivery("d2", document_id="doc-0", recipient=OTHER,
                                         at=NOW - timedelta(hours=1), sha="0" * 64),
                                state=DeliveryState.AVAILABLE))
        # doc-1: urgent, queued, for RECIPIENT.
        tx.add_delivery(delivery("d3", document_id="doc-1", at=NOW, sha="1" * 64, priority=1))
        for code, at in (("trust.signature_absent", NOW), ("edxml.wrong_root", NOW),
                         ("trust.signature_absent", NOW - timedelta(days=40))):
            tx.append_journal(at, "package.refused", "e", {"code": code})


def test_buckets_are_vietnam_hours_and_days(store: SqlRouteStore) -> None:
    fill(store)
    hours = ops(store).series(NOW, HOUR)
    assert len(hours.keys) == 48 and hours.keys[-1] == "2026-11-24T23"
    by_key = dict(zip(hours.keys, hours.accepted, strict=True))
    assert by_key["2026-11-24T23"] == 1 and by_key["2026-11-24T22"] == 1
    assert dict(zip(hours.keys, hours.refused, strict=True))["2026-11-24T23"] == 2
    days = ops(store).series(NOW, DAY)
    assert len(days.keys) == 30 and days.keys[-1] == "2026-11-24"
    assert dict(zip(days.keys, days.accepted, strict=True)) == {
        k: {"2026-11-24": 2, "2026-11-22": 1}.get(k, 0) for k in days.keys}
    assert sum(days.refused) == 2  # the refusal 40 days ago is outside the window


def test_refusals_latency_and_waiting(store: SqlRouteStore) -> None:
    fill(store)
    o = ops(store)
    assert o.refusals(NOW) == (("edxml.wrong_root", 1), ("trust.signature_absent", 1))
    latency = {d.day: d for d in o.latency(NOW)}
    assert latency["2026-11-24"].count == 1 and latency["2026-11-24"].median_s == 600
    waiting = {w.agency_id: w for w in o.waiting()}
    assert waiting[OTHER].count == 1 and waiting[OTHER].oldest == NOW - timedelta(hours=1)
    assert waiting[RECIPIENT].count == 1 and waiting[RECIPIENT].oldest == NOW
    assert waiting[OTHER].oldest.utcoffset() == timedelta(hours=7)


def test_search_filters_paging_and_attempts(store: SqlRouteStore) -> None:
    fill(store)
    attempts = PushAttempts(store.engine)
    assert attempts.claim("d3", NOW, timedelta(seconds=30)) == 1
    attempts.failed("d3", due=NOW + timedelta(minutes=1), error="HTTP 503")
    o = ops(store)

    def found(**kw: object) -> list[str]:
        return [r.delivery.delivery_id for r in o.search(MessageQuery(**kw)).rows]  # type: ignore[arg-type]

    assert found() == ["d3", "d1", "d2"]  # newest first
    assert found(agency="H37.02") == ["d3", "d1"]  # the other identifier form
    assert found(agency=SENDER) == ["d3", "d1", "d2"]  # as sender
    assert found(document_id="doc-0", state="available") == ["d2"]
    assert found(priority=1) == ["d3"] and found(business_type=0) == ["d3", "d1", "d2"]
    assert found(since=NOW - timedelta(minutes=1)) == ["d3"]
    assert found(until=NOW.astimezone(UTC)) == ["d1", "d2"]
    assert found(delivery_id="d2") == ["d2"] and found(status_code="03") == []
    page = o.search(MessageQuery(limit=2))
    assert page.next_offset == 2 and len(page.rows) == 2
    assert o.search(MessageQuery(limit=2, offset=2)).next_offset is None
    row = o.search(MessageQuery(delivery_id="d3")).rows[0]
    assert (row.attempts, row.next_attempt_at, row.last_error) == (
        1, NOW + timedelta(minutes=1), "HTTP 503")
    assert [r.delivery.delivery_id for r in o.export(MessageQuery())] == ["d3", "d1", "d2"]
    for bad in (MessageQuery(status_code="99"), MessageQuery(state="lost"),
                MessageQuery(limit=0), MessageQuery(business_type=7)):
        with pytest.raises(AxisError):
            o.search(bad)


def test_a_document_and_its_packages(store: SqlRouteStore) -> None:
    fill(store)
    o = ops(store)
    view = o.document("doc-0")
    assert [p.sha256 for p in view.packages] == ["0" * 64]
    assert [c.delivery.delivery_id for c in view.copies] == ["d1", "d2"]
    with pytest.raises(AxisError):
        o.document("doc-unknown")
    assert o.package("0" * 64)[0].document_id == "doc-0"
    with pytest.raises(AxisError):
        o.package("9" * 64)
