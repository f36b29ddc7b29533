"""Maintenance notices (Art. 21.3): one signed package, one copy in the inbox of every
active agency of the province, none for suspended, retired or outside agencies; the
package verifies with the node certificate; a retry sends nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from admin_support import (
    ADMIN_TOKEN,
    OPERATOR_NAME,
    OPERATOR_TOKEN,
    bearer,
    serve,
    settle,
    start,
)
from cryptography.hazmat.primitives.serialization import Encoding
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, TestNode
from signxml.verifier import XMLVerifier

from adapters.amqp.memory import InProcessBroker
from axis.edxml.model import DocumentPackage, Kind
from axis.errors import AxisError
from axis.registry.model import AgencyKind, AgencyState, DeliveryMode
from axis.route import notices
from axis.route.model import DeliveryState, TrailEvent
from axis.settings import AdminSettings

SENDER = "000.00.11.H37"  # the default notice sender: Sở Thông tin và Truyền thông
NOTICE = {
    "number": "125", "subject_vi": "Bảo trì trục liên thông văn bản tỉnh",
    "subject_en": "Maintenance of the provincial exchange node",
    "text_vi": "Trục liên thông tạm dừng để nâng cấp phiên bản mới.",
    "text_en": "The node stops for an upgrade to a new version.",
    "starts_at": "2026-11-28T22:00:00+07:00", "ends_at": "2026-11-29T02:00:00+07:00",
    "reason": "Kế hoạch nâng cấp số 9",
}



@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    # A broker node: AMQP-mode agencies consume their own queue (on the embedded default
    # the outbox delivers every agency's copies into inboxes instead).
    node = start(tmp_path, *pki_dirs, broker=InProcessBroker())
    yield node
    node.node.close()


@pytest.fixture()
def api(t: TestNode) -> Iterator[httpx.Client]:
    with serve(t) as client:
        yield client


def node_cert_pem(t: TestNode) -> bytes:
    return t.node.signer.cert.public_bytes(Encoding.PEM)


def test_every_active_agency_gets_exactly_one_signed_copy(
    t: TestNode, api: httpx.Client
) -> None:
    reg = t.node.registry
    reg.suspend(TAI_CHINH, actor="test", reason="tạm dừng")
    reg.retire(KE_HOACH, actor="test", reason="sáp nhập")
    active = {a.agency_id for a in reg.list(state=AgencyState.ACTIVE, kind=AgencyKind.INTERNAL)}
    outside = {a.agency_id for a in reg.list(kind=AgencyKind.EXTERNAL)}
    assert TAI_CHINH not in active and KE_HOACH not in active and outside

    r = api.post("/admin/v1/notices", headers=bearer(OPERATOR_TOKEN), json=NOTICE)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["sender_id"] == SENDER and sent["document_id"].startswith(f"{SENDER},2026/")
    assert sent["document_id"].endswith(",125/TB-TLT")
    assert {d["recipient_id"] for d in sent["deliveries"]} == active
    assert sent["recipients"] == sent["queued"] == len(active)
    by_mode = {a.agency_id: a.delivery_mode for a in reg.list()}
    settle(t, queued=sum(1 for a in active if by_mode[a] is DeliveryMode.AMQP))

    # AMQP agencies consume their own queue. Checked before any copy is taken: each take
    # sends the notice's sender (itself an AMQP agency here) a 01 "arrived".
    amqp = {a for a in active if by_mode[a] is DeliveryMode.AMQP}
    assert amqp and all(t.node.broker.depth(a) == 1 for a in amqp)
    body = None
    for agency_id in sorted(active - amqp):
        inbox = t.node.exchange.inbox(agency_id)
        assert [i.document_id for i in inbox] == [sent["document_id"]], agency_id
        _, raw = t.node.exchange.take(agency_id, inbox[0].delivery_id)
        assert body is None or raw == body  # one package for all
        body = raw
    for agency_id in (TAI_CHINH, KE_HOACH, *outside):
        assert t.node.exchange.inbox(agency_id) == [] and t.node.broker.depth(agency_id) == 0
    assert body is not None
    # Taking it answers the sender 01 on each agency's behalf: evidence that every agency
    # received the written notice.
    settle(t, queued=len(amqp) + len(active - amqp))
    assert t.node.broker.depth(SENDER) == 1 + len(active - amqp)

    # The node's signature covers it; recipients check it with the node certificate.
    XMLVerifier().verify(body, x509_cert=node_cert_pem(t).decode())
    package = t.node.trust.validator.validate(body, keep_data=True).package
    assert isinstance(package, DocumentPackage)
    assert package.sender_id == SENDER
    assert "Bảo trì trục liên thông" in package.header.subject
    assert "2026-11-28T22:00:00+07:00" in package.header.content
    assert [a.detected_type for a in package.attachments] == ["txt"]
    text = (package.attachments[0].data or b"").decode("utf-8")
    assert "nâng cấp phiên bản mới" in text and "upgrade to a new version" in text
    assert "2026-11-28T22:00:00+07:00" in text and "Điều 21.3" in text

    entries = [e for e in t.node.store.journal() if e.kind == "notice.broadcast"]
    assert len(entries) == 1 and entries[0].payload["actor"] == OPERATOR_NAME
    assert entries[0].payload["recipients"] == len(active)
    trail = t.node.exchange.trail(sent["document_id"])
    assert sum(1 for e in trail if e.event is TrailEvent.RECEIVED) == len(active)


def test_same_notice_again_sends_nothing_twice_another_text_is_refused(
    t: TestNode, api: httpx.Client
) -> None:
    admin = bearer(ADMIN_TOKEN)
    first = api.post("/admin/v1/notices", headers=admin, json=NOTICE).json()
    again = api.post("/admin/v1/notices", headers=admin, json=NOTICE)
    assert again.status_code == 201 and again.json()["queued"] == 0
    assert [d["delivery_id"] for d in again.json()["deliveries"]] == [
        d["delivery_id"] for d in first["deliveries"]]
    with t.node.store.transaction() as tx:
        assert tx.count_deliveries() == first["recipients"]
    other = api.post("/admin/v1/notices", headers=admin, json={**NOTICE, "text_en": "Other."})
    assert (other.status_code, other.json()["code"]) == (409, "notice.number_used")


@pytest.mark.parametrize(("change", "where"), [
    ({"number": "12a"}, "number"), ({"text_vi": "  "}, "text_vi"),
    ({"ends_at": "2026-11-28T21:00:00+07:00"}, "ends_at"), ({"notation": "TB/X"}, "notation"),
])
def test_a_notice_that_cannot_be_a_package_is_refused(
    api: httpx.Client, change: dict[str, str], where: str
) -> None:
    r = api.post("/admin/v1/notices", headers=bearer(OPERATOR_TOKEN), json={**NOTICE, **change})
    assert (r.status_code, r.json()["code"]) == (422, "api.invalid_request")
    assert where in r.json()["detail"]


def test_notice_sender_must_be_an_active_registered_agency(t: TestNode) -> None:
    settings = t.node.settings.model_copy(update={"admin": AdminSettings(
        tokens=t.node.settings.admin.tokens, notice_sender_id="000.00.98.H37")})
    with serve(t, settings) as api:
        r = api.post("/admin/v1/notices", headers=bearer(OPERATOR_TOKEN), json=NOTICE)
    assert (r.status_code, r.json()["code"]) == (500, "node.config_invalid")
    with t.node.store.transaction() as tx:
        assert tx.count_deliveries() == 0


def test_broadcast_in_the_core_queues_one_delivery_per_recipient(t: TestNode) -> None:
    notice = notices.Notice(number="7", subject_vi="Bảo trì", subject_en="Maintenance",
                            text_vi="Tạm dừng.", text_en="Stopped.", urgent=True)
    sent = notices.broadcast(t.node.exchange, t.node.registry, notice, sender_id=SENDER,
                             actor="test", reason="thử",
                             self_check=t.node.trust.validator.validate)
    assert len({d.delivery_id for d in sent.deliveries}) == len(sent.deliveries)
    with t.node.store.transaction() as tx:
        assert tx.count_deliveries(DeliveryState.QUEUED) == len(sent.deliveries)
        d = tx.get_delivery(sent.deliveries[0].delivery_id)
        assert d is not None and d.origin == "node" and d.kind is Kind.EDOC
        assert d.priority == 1  # urgent: listed first (Art. 7.2)
        assert tx.get_package(sent.package_sha256).signature == "node"  # type: ignore[union-attr]
    t.deliver_all()
    assert t.node.exchange.inbox(NOI_VU)[0].document_id == sent.document_id
    with pytest.raises(AxisError) as exc:
        notices.broadcast(t.node.exchange, t.node.registry, notice, sender_id="nobody",
                          actor="test", reason="thử")
    assert exc.value.code.id == "node.config_invalid"
