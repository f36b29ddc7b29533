"""End to end through the routing core on a real node (SQLite, in-process broker, real
signatures, fixed clock): receipts, delivery with the Art. 11.2 time, the 01 → 06 status
trail, refusal with reason, recall before and after delivery, duplicates, refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from exchange_support import (
    KE_HOACH,
    NOI_VU,
    T0,
    TAI_CHINH,
    TU_PHAP,
    UBND,
    TestNode,
)
from signxml.verifier import VerifyResult, XMLVerifier

from axis.clock import VN_TZ, iso
from axis.edxml.model import Business, BusinessType, Kind, Priority, StatusCode
from axis.errors import AxisError
from axis.route.model import DeliveryState, TrailEvent


def codes(exc: pytest.ExceptionInfo[AxisError]) -> str:
    return exc.value.code.id


def test_document_to_three_recipients_then_the_full_status_trail(t: TestNode) -> None:
    doc_id, raw = t.document(UBND, (NOI_VU, TAI_CHINH, KE_HOACH), 101)
    receipt = t.node.exchange.submit(raw)
    assert receipt.kind is Kind.EDOC and receipt.document_id == doc_id
    assert [d.recipient_id for d in receipt.deliveries] == [NOI_VU, TAI_CHINH, KE_HOACH]
    assert receipt.accepted_at == T0 and iso(receipt.accepted_at) == "2026-11-24T09:00:00+07:00"
    assert t.deliver_all() == 3
    for agency in (NOI_VU, TAI_CHINH, KE_HOACH):
        assert [i.document_id for i in t.node.exchange.inbox(agency)] == [doc_id]

    # Nội vụ takes it in office hours: the receipt time is itself (Art. 11.2).
    t.clock.advance(timedelta(minutes=5))
    d, body = t.node.exchange.take(NOI_VU, receipt.deliveries[0].delivery_id)
    assert body == raw  # forwarded byte-identical
    assert d.state is DeliveryState.DELIVERED
    assert iso(d.delivered_at or T0) == iso(d.effective_at or T0) == "2026-11-24T09:05:00+07:00"

    # Tài chính takes it in the evening: receipt counts from the next morning session.
    t.clock.advance(timedelta(hours=9, minutes=25))  # 18:30
    d2, _ = t.node.exchange.take(TAI_CHINH, receipt.deliveries[1].delivery_id)
    assert iso(d2.delivered_at or T0) == "2026-11-24T18:30:00+07:00"
    assert iso(d2.effective_at or T0) == "2026-11-25T07:30:00+07:00"

    # Each take made the node send 01 to the sender on the recipient's behalf.
    t.deliver_all()
    arrived = t.node.exchange.inbox(UBND)
    assert [(i.kind, i.status_code, i.sender_id) for i in arrived] == [
        (Kind.STATUS, "01", NOI_VU), (Kind.STATUS, "01", TAI_CHINH)]
    _, status_raw = t.node.exchange.take(UBND, arrived[0].delivery_id)
    # Signed by the node: its own certificate verifies the enveloped signature.
    node_cert = (t.node.settings.data_dir / "node" / "node.pem").read_text()
    result = XMLVerifier().verify(status_raw, x509_cert=node_cert)
    assert isinstance(result, VerifyResult) and result.signed_xml is not None
    assert result.signed_xml.findtext(".//{*}StatusCode") == "01"

    # Kế hoạch refuses with a reason (Art. 6.4); Nội vụ goes 03 → 06; all relayed.
    t.node.exchange.take(KE_HOACH, receipt.deliveries[2].delivery_id)
    t.node.exchange.submit(t.status(KE_HOACH, UBND, doc_id, StatusCode.REFUSED,
                                    "Sai thẩm quyền ban hành / wrong authority"))
    for code in ("03", "04", "05", "06"):
        t.clock.advance(timedelta(minutes=1))
        t.node.exchange.submit(t.status(NOI_VU, UBND, doc_id, StatusCode(code), f"bước {code}"))
    # Nội vụ's own 01 after the node sent one on its behalf: the same receipt, no new copy.
    again = t.node.exchange.submit(t.status(NOI_VU, UBND, doc_id, StatusCode.ARRIVED))
    assert again.duplicate
    t.deliver_all()
    waiting = {(i.sender_id, i.status_code) for i in t.node.exchange.inbox(UBND)}
    assert {(KE_HOACH, "02"), (NOI_VU, "03"), (NOI_VU, "06")} <= waiting

    trail = t.node.exchange.trail(doc_id)
    noi_vu = [(e.event, e.status_code) for e in trail if e.agency_id == NOI_VU]
    assert noi_vu == [
        (TrailEvent.RECEIVED, None), (TrailEvent.AVAILABLE, None), (TrailEvent.DELIVERED, None),
        (TrailEvent.STATUS, "01"), (TrailEvent.STATUS, "03"), (TrailEvent.STATUS, "04"),
        (TrailEvent.STATUS, "05"), (TrailEvent.STATUS, "06")]
    assert all(e.at.utcoffset() == timedelta(hours=7) for e in trail)
    assert t.node.store.verify_journal().ok


def test_same_package_twice_gives_the_same_receipt(t: TestNode) -> None:
    _, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 102)
    first = t.node.exchange.submit(raw)
    second = t.node.exchange.submit(raw)
    assert second.duplicate and not first.duplicate
    assert [d.delivery_id for d in second.deliveries] == [d.delivery_id for d in first.deliveries]
    assert t.deliver_all() == 2
    assert len(t.node.exchange.inbox(NOI_VU)) == 1


def test_recall_before_delivery_withdraws_and_answers_15(t: TestNode) -> None:
    doc_id, raw = t.document(UBND, (TU_PHAP, NOI_VU), 103)
    receipt = t.node.exchange.submit(raw)
    t.deliver_all()
    t.node.exchange.take(NOI_VU, receipt.deliveries[1].delivery_id)  # Nội vụ took its copy
    t.clock.advance(timedelta(minutes=10))
    t.node.exchange.submit(t.status(UBND, TU_PHAP, doc_id, StatusCode.RECALL_REQUEST,
                                    "Thu hồi để sửa sai sót"))
    t.deliver_all()
    assert t.node.exchange.inbox(TU_PHAP) == []
    with pytest.raises(AxisError) as info:
        t.node.exchange.take(TU_PHAP, receipt.deliveries[0].delivery_id)
    assert codes(info) == "route.delivery_withdrawn"
    answers = [(i.sender_id, i.status_code) for i in t.node.exchange.inbox(UBND)]
    assert (TU_PHAP, "15") in answers
    withdrawn = [e for e in t.node.exchange.trail(doc_id) if e.event is TrailEvent.WITHDRAWN]
    assert [(e.agency_id, iso(e.at)) for e in withdrawn] == [(TU_PHAP, "2026-11-24T09:10:00+07:00")]


def test_recall_after_delivery_is_delivered_and_the_answer_relayed(t: TestNode) -> None:
    doc_id, raw = t.document(UBND, (TU_PHAP,), 104)
    receipt = t.node.exchange.submit(raw)
    t.deliver_all()
    t.node.exchange.take(TU_PHAP, receipt.deliveries[0].delivery_id)
    recall = t.node.exchange.submit(t.recall_document(UBND, (TU_PHAP,), doc_id, 104))
    assert not recall.duplicate
    t.deliver_all()
    inbox = t.node.exchange.inbox(TU_PHAP)
    assert [(i.kind, i.business_type) for i in inbox] == [(Kind.EDOC, 1)]
    t.node.exchange.take(TU_PHAP, inbox[0].delivery_id)
    t.node.exchange.submit(t.status(TU_PHAP, UBND, doc_id, StatusCode.AGREED, "Đồng ý thu hồi"))
    t.deliver_all()
    assert (TU_PHAP, "15") in [(i.sender_id, i.status_code) for i in t.node.exchange.inbox(UBND)]
    events = [e.event for e in t.node.exchange.trail(doc_id) if e.agency_id == TU_PHAP]
    assert TrailEvent.RECALL in events and TrailEvent.WITHDRAWN not in events


def test_urgent_overtakes_500_normal_documents_for_the_same_agency(t: TestNode) -> None:
    for n in range(500):
        t.node.exchange.submit(t.document(UBND, (NOI_VU,), 1000 + n)[1])
    urgent_id, raw = t.document(UBND, (NOI_VU,), 2000, priority=Priority.FLASH)
    t.node.exchange.submit(raw)
    # The embedded default's outbox is its queue: the urgent entry, submitted last,
    # is the first one handed over (Art. 7.2). The broker path: tests/test_reconcile.py.
    assert t.node.worker.handover.deliver_direct(1) == 1
    assert [i.document_id for i in t.node.exchange.inbox(NOI_VU)] == [urgent_id]
    t.deliver_all()
    listed = t.node.exchange.inbox(NOI_VU, limit=1000)
    assert len(listed) == 501 and listed[0].document_id == urgent_id


@pytest.mark.parametrize(
    ("recipients", "prepare", "expected"),
    [
        (("000.00.99.H37",), None, "route.unknown_agency"),
        ((NOI_VU,), "suspend", "route.recipient_suspended"),
    ],
)
def test_policy_refusals(t: TestNode, recipients: tuple[str, ...], prepare: str | None,
                         expected: str) -> None:
    if prepare == "suspend":
        t.node.registry.suspend(NOI_VU, actor="test", reason="bảo trì hệ thống")
    _, raw = t.document(UBND, recipients, 105)
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(raw)
    assert codes(info) == expected
    assert info.value.error_id  # journaled under this id
    entries = list(t.node.store.journal())
    assert entries[-1].kind == "package.refused" and entries[-1].subject == info.value.error_id
    assert t.deliver_all() == 0


def test_unsigned_and_foreign_status_are_refused(t: TestNode) -> None:
    doc_id, raw = t.document(UBND, (NOI_VU,), 106)
    unsigned = raw.split(b"<ds:Signature")[0] + raw[raw.index(b"</ds:Signature>") + 15:]
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(unsigned)
    assert codes(info) == "trust.signature_absent"
    t.node.exchange.submit(raw)
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(t.status(TAI_CHINH, UBND, doc_id, StatusCode.DONE))
    assert codes(info) == "route.not_recipient"


def test_times_are_vietnam_time(t: TestNode) -> None:
    receipt = t.node.exchange.submit(t.document(UBND, (NOI_VU,), 107)[1])
    assert receipt.accepted_at.tzinfo is not None
    assert receipt.accepted_at == datetime(2026, 11, 24, 2, 0, tzinfo=VN_TZ.utc)


def test_trail_cli_prints_every_recipient_history(
    t: TestNode, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.cli import main

    doc_id, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 108)
    receipt = t.node.exchange.submit(raw)
    t.deliver_all()
    t.clock.advance(timedelta(hours=3))  # 12:00, the lunch break
    t.node.exchange.take(NOI_VU, receipt.deliveries[0].delivery_id)
    t.deliver_all()  # the worker signs and queues the node's 01 for the take
    monkeypatch.setenv("AXIS_DATA_DIR", str(t.node.settings.data_dir))
    assert main(["trail", doc_id, "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["agency"], e["event"]) for e in events] == [
        (NOI_VU, "received"), (TAI_CHINH, "received"), (NOI_VU, "available"),
        (TAI_CHINH, "available"), (NOI_VU, "delivered"), (NOI_VU, "status"),
        (UBND, "available")]  # the 01 in the sender's inbox
    delivered = events[4]
    assert delivered["at"] == "2026-11-24T12:00:00+07:00"
    assert delivered["effective_at"] == "2026-11-24T13:00:00+07:00"  # afternoon session
    assert main(["trail", doc_id]) == 0
    table = capsys.readouterr().out
    assert "effective receipt" in table and "2026-11-24T13:00:00+07:00" in table
    assert main(["trail", "no-such-document"]) == 1


@pytest.mark.parametrize("kind", [BusinessType.UPDATE, BusinessType.REPLACE])
def test_update_and_replace_are_delivered_and_linked(t: TestNode, kind: BusinessType) -> None:
    original, raw = t.document(UBND, (NOI_VU,), 109)
    t.node.exchange.submit(raw)
    business = Business(doc_type=kind, reason="Cập nhật nội dung", document_id=original)
    newer, raw2 = t.document(UBND, (NOI_VU,), 110, business=business)
    t.node.exchange.submit(raw2)
    t.deliver_all()
    assert [(i.document_id, i.business_type) for i in t.node.exchange.inbox(NOI_VU)] == [
        (original, 0), (newer, int(kind))]
    link = [e for e in t.node.exchange.trail(original) if e.event is TrailEvent.SUPERSEDED]
    assert [(e.agency_id, e.detail) for e in link] == [
        (NOI_VU, f"{kind.name.lower()} by {newer}")]
    received = [e for e in t.node.exchange.trail(newer) if e.event is TrailEvent.RECEIVED]
    assert received[0].detail == f"{kind.name.lower()} of {original}"


def test_the_idempotency_key_holds_the_digest_of_the_bytes(t: TestNode) -> None:
    """Issue 10: the key is (business type or status code, sender, DocumentId, recipient,
    SHA-256 of the bytes). The same bytes again — a retry, or the same package coming
    back over another hop — are the same copy; a package with the same DocumentId and
    other bytes is another message and gets its own copy."""
    doc_id, raw = t.document(UBND, (NOI_VU,), 1)
    first = t.node.exchange.submit(raw)
    again = t.node.exchange.submit(raw)
    assert again.duplicate and again.deliveries == tuple(
        d.__class__(d.recipient_id, d.delivery_id, True) for d in first.deliveries)
    _, other = t.document(UBND, (NOI_VU,), 2, document_id=doc_id)  # other bytes
    assert other != raw
    third = t.node.exchange.submit(other)
    assert not third.duplicate
    assert third.deliveries[0].delivery_id != first.deliveries[0].delivery_id
