"""The agency API end to end through a real uvicorn server on 127.0.0.1, with the signed
client: send, list, get (byte-identical, delivered with the Art. 11.2 time), transport
state, status packages, trail visibility, the registry as agencies see it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from exchange_support import (
    KE_HOACH,
    NOI_VU,
    TAI_CHINH,
    UBND,
    TestNode,
    start_node,
)
from rest_support import RestNode, serve

from adapters.client.agency import AgencyApiError
from axis.edxml.model import Priority, StatusCode
from axis.route.model import DeliveryState, TransportState


@pytest.fixture()
def rest(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[RestNode]:
    t = start_node(tmp_path, *pki_dirs)
    with serve(t) as r:
        yield r
    t.node.close()


def delivery_state(t: TestNode, doc_id: str) -> tuple[DeliveryState, TransportState]:
    with t.node.store.transaction() as tx:
        d = tx.get_delivery(doc_id)
    assert d is not None
    return d.state, d.transport_state


def test_send_list_get_update_status_and_trail(rest: RestNode) -> None:
    t = rest.t
    ubnd, noi_vu, tai_chinh = rest.client(UBND), rest.client(NOI_VU), rest.client(TAI_CHINH)
    doc_id, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 301)

    receipt = ubnd.send(raw)  # multipart edocFile, like the national axis
    assert receipt["message_type"] == "edoc" and receipt["document_id"] == doc_id
    assert receipt["accepted_at"] == "2026-11-24T09:00:00+07:00"
    assert [d["recipient"] for d in receipt["deliveries"]] == [NOI_VU, TAI_CHINH]
    assert not receipt["duplicate"] and receipt["journal_seq"] > 0
    copy = receipt["deliveries"][0]["doc_id"]
    t.deliver_all()

    waiting = list(noi_vu.pull())
    assert waiting == [{
        "doc_id": copy, "sender": UBND, "message_type": "edoc", "document_id": doc_id,
        "business_type": 0, "status_code": None, "priority": 0,
        "available_at": "2026-11-24T09:00:00+07:00"}]
    assert list(noi_vu.pull(message_type="status")) == []

    # Taken at 18:30, outside office hours: receipt counts from 07:30 the next morning.
    t.clock.advance(timedelta(hours=9, minutes=30))
    body, headers = noi_vu.get(copy)
    assert body == raw  # the package exactly as the sender signed it
    assert headers["x-axis-delivered-at"] == "2026-11-24T18:30:00+07:00"
    assert headers["x-axis-effective-at"] == "2026-11-25T07:30:00+07:00"
    assert headers["x-axis-sender"] == UBND and headers["x-axis-message-type"] == "edoc"
    assert delivery_state(t, copy)[0] is DeliveryState.DELIVERED
    assert list(noi_vu.pull()) == []  # taken: no longer waiting
    assert noi_vu.get(copy)[0] == raw  # taking again is harmless

    assert noi_vu.update_status(copy, "processing") == {"doc_id": copy, "status": "processing"}
    assert delivery_state(t, copy)[1] is TransportState.PROCESSING

    # Business statuses travel as signed status packages.
    done = noi_vu.send(t.status(NOI_VU, UBND, doc_id, StatusCode.DONE, "Đã xử lý xong"),
                       message_type="status")
    assert done["message_type"] == "status" and done["deliveries"][0]["recipient"] == UBND
    t.deliver_all()
    statuses = [(i["sender"], i["status_code"]) for i in ubnd.pull(message_type="status")]
    assert statuses == [(NOI_VU, "01"), (NOI_VU, "06")]  # 01 sent by the node on taking

    # The sender sees every recipient's history; a recipient its own copy only.
    full = ubnd.trail(doc_id)
    # (UBND's own entries: the statuses that became available to it.)
    assert {e["agency"] for e in full["events"]} == {UBND, NOI_VU, TAI_CHINH}
    assert {e["event"] for e in full["events"] if e["agency"] == UBND} == {"available"}
    delivered = [e for e in full["events"] if e["event"] == "delivered"]
    assert [(e["agency"], e["effective_at"]) for e in delivered] == [
        (NOI_VU, "2026-11-25T07:30:00+07:00")]
    own = noi_vu.trail(doc_id)["events"]
    # Its copy, and its statuses reaching the sender; nothing of Tài chính's copy.
    assert {e["agency"] for e in own} == {NOI_VU, UBND}
    assert [e["status_code"] for e in own if e["event"] == "status"] == ["01", "06"]
    assert {e["status_code"] for e in own if e["agency"] == UBND} == {"01", "06"}
    assert {e["agency"] for e in tai_chinh.trail(doc_id)["events"]} == {TAI_CHINH}
    with pytest.raises(AgencyApiError) as info:
        rest.client(KE_HOACH).trail(doc_id)  # not its document
    assert (info.value.status, info.value.code) == (404, "api.document_unknown")


def test_raw_body_duplicate_and_urgent_first(rest: RestNode) -> None:
    t = rest.t
    ubnd, noi_vu = rest.client(UBND), rest.client(NOI_VU)
    _, raw = t.document(UBND, (NOI_VU,), 302)
    first = ubnd.send(raw, multipart=False)
    again = ubnd.send(raw, multipart=False)
    assert again["duplicate"] and again["deliveries"] == [
        {**first["deliveries"][0], "duplicate": True}]
    urgent_id, urgent = t.document(UBND, (NOI_VU,), 303, priority=Priority.FLASH)
    ubnd.send(urgent, message_type="edoc")
    t.deliver_all()
    listed = list(noi_vu.pull())
    assert listed[0]["document_id"] == urgent_id
    assert [i["priority"] for i in listed] == [3, 0]
    # Pages: one at a time, next_offset until the end.
    page = noi_vu.pull_page(limit=1)
    assert len(page["items"]) == 1 and page["next_offset"] == 1
    assert noi_vu.pull_page(offset=1, limit=1)["next_offset"] is None
    # Dates filter on available_at, half-open.
    assert list(noi_vu.pull(since=t.clock.now() + timedelta(seconds=1))) == []
    assert len(list(noi_vu.pull(until=t.clock.now() + timedelta(seconds=1)))) == 2


def test_parent_sends_for_its_unit(rest: RestNode) -> None:
    """UBND's system may send a package whose signed sender is one of its units."""
    _, raw = rest.t.document(NOI_VU, (TAI_CHINH,), 304)
    receipt = rest.client(UBND).send(raw)
    assert receipt["sender"] == NOI_VU
    # … and, speaking for its units, sees their documents' trails.
    assert rest.client(UBND).trail(receipt["document_id"])["events"]


def test_agencies_as_agencies_see_them(rest: RestNode) -> None:
    rest.t.node.registry.retire(KE_HOACH, actor="test", reason="sáp nhập")
    rest.t.node.registry.suspend(TAI_CHINH, actor="test", reason="bảo trì")
    listed = rest.client(NOI_VU).agencies()
    assert listed["caller"] == NOI_VU
    by_id = {a["agency_id"]: a for a in listed["agencies"]}
    assert KE_HOACH not in by_id and by_id[TAI_CHINH]["state"] == "suspended"
    assert by_id[NOI_VU] == {
        "agency_id": NOI_VU, "short_id": "H37.02", "name": "Sở Nội vụ tỉnh Lạng Sơn",
        "parent_id": UBND, "level": 2, "kind": "internal", "state": "active"}


def test_openapi_documents_every_operation_and_the_signature(rest: RestNode) -> None:
    doc = httpx.get(f"{rest.url}/openapi.json", timeout=10).json()
    ops = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert {("/v1/sendEdoc", "post"), ("/v1/syncReceivedEdocList", "get"),
            ("/v1/getEdoc", "get"), ("/v1/updateStatus", "post"), ("/v1/trail", "get"),
            ("/v1/agencies", "get")} <= ops
    schemes = doc["components"]["securitySchemes"]
    assert {"AxisSystemId", "AxisTimestamp", "AxisSignature"} <= set(schemes)
    send = doc["paths"]["/v1/sendEdoc"]["post"]
    assert send["security"] == [{"AxisSystemId": [], "AxisTimestamp": [], "AxisSignature": []}]
    assert "multipart/form-data" in send["requestBody"]["content"]
    error = doc["components"]["schemas"]["ErrorBody"]
    assert {"code", "message_vi", "message_en", "error_id"} <= set(error["required"])
