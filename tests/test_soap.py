"""The SOAP endpoint end to end: a real uvicorn server on 127.0.0.1 (tests/rest_support.py),
zeep as the client, loading the WSDL from the server, over SOAP 1.1 and SOAP 1.2. Send,
list, get (byte-identical), transport status, trail, agencies, and every refusal as a
Fault carrying the Axis code and error id."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, UBND, start_node
from lxml import etree
from rest_support import RestNode, serve
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport

from adapters.soap import operations
from adapters.soap.envelope import SOAP11, SOAP12, TNS
from axis.auth import signing
from axis.edxml.model import StatusCode
from axis.settings import RestSettings

VN = timezone(timedelta(hours=7))
PORTS = {"1.1": "AxisSoap11", "1.2": "AxisSoap12"}
_seq = itertools.count(1)  # distinct timestamps for hand-signed requests
SIDE = {"1.1": ("soap:Client", "soap:Server"), "1.2": ("soap:Sender", "soap:Receiver")}


class SignedTransport(Transport):
    """zeep's transport, signing each POST over the exact bytes it sends (the envelope is
    only final here; a zeep Plugin's egress sees the tree before serialisation)."""

    def __init__(self, system_id: str, secret: str, clock: Callable[[], float]) -> None:
        super().__init__(timeout=30, operation_timeout=30)  # type: ignore[no-untyped-call]
        self.system_id, self.secret, self.clock = system_id, secret, clock
        self.timestamp: str | None = None  # fixed: a replay, or a stale clock
        self.tamper: Callable[[bytes], bytes] | None = None  # changes bytes after signing
        self.last: requests.Response | None = None
        self._micros = 0

    def _fresh(self) -> str:
        micros = max(int(self.clock() * 1_000_000), self._micros + 1)
        self._micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def post(self, address: str, message: bytes | str, headers: dict[str, str]
             ) -> requests.Response:
        body = message.encode("utf-8") if isinstance(message, str) else message
        ts = self.timestamp or self._fresh()
        parts = urlsplit(address)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        signed = {**headers, signing.SYSTEM_ID_HEADER: self.system_id,
                  signing.TIMESTAMP_HEADER: ts,
                  signing.SIGNATURE_HEADER: signing.sign_request(
                      self.secret, "POST", target, ts, body)}
        if self.tamper is not None:
            body = self.tamper(body)
        self.last = super().post(address, body, signed)  # type: ignore[no-untyped-call]
        return self.last


class Soap:
    """A zeep client of one agency over one SOAP version."""

    def __init__(self, rest: RestNode, version: str, system_id: str, secret: str) -> None:
        self.version = version
        self.transport = SignedTransport(system_id, secret,
                                         lambda: rest.t.clock.now().timestamp())
        client = Client(f"{rest.url}/soap?wsdl",  # type: ignore[no-untyped-call]
                        transport=self.transport, settings=Settings(strict=True))
        self.service: Any = client.bind("AxisService", PORTS[version])


def fault_of(call: Callable[[], object], code: str, soap: Soap, *,
             sender: bool = True, status: int | None = None) -> dict[str, str]:
    """The Fault's axis:error as a dict, after checking its code, side and HTTP status."""
    with pytest.raises(Fault) as info:
        call()
    f = info.value
    assert f.code == SIDE[soap.version][0 if sender else 1], f.code
    error = f.detail.find(f"{{{TNS}}}error")
    assert error is not None, etree.tostring(f.detail)
    out = {etree.QName(c).localname: c.text or "" for c in error}
    assert out["code"] == code, out
    assert out["message_vi"] and out["message_en"] == f.message and out["error_id"]
    last = soap.transport.last
    assert last is not None
    expected = status or (500 if soap.version == "1.1" or not sender else 400)
    assert last.status_code == expected
    assert last.headers["content-type"].startswith(
        SOAP11.media_type if soap.version == "1.1" else SOAP12.media_type)
    return out



@pytest.fixture()
def node_dir(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[Any]:
    t = start_node(tmp_path, *pki_dirs)
    yield t
    t.node.close()


@pytest.fixture()
def rest(node_dir: Any) -> Iterator[RestNode]:
    with serve(node_dir) as r:
        yield r


@pytest.fixture(params=["1.1", "1.2"])
def version(request: pytest.FixtureRequest) -> str:
    v: str = request.param
    return v


def settled(t: Any, query: Callable[[], object], expected: object) -> None:
    """Deliver, then query until the expected answer (at most 10 s). The server's own
    delivery thread runs beside `deliver_all`: a copy it holds mid-pass is in neither's
    result yet, so one pass from the test is not proof that everything has landed."""
    deadline = time.monotonic() + 10
    while True:
        t.deliver_all()
        got = query()
        if got == expected or time.monotonic() > deadline:
            assert got == expected
            return
        time.sleep(0.02)


def soap_client(rest: RestNode, version: str, agency_id: str, *,
                system_id: str | None = None) -> Soap:
    return Soap(rest, version, *rest.credential(agency_id, system_id))


def test_wsdl_is_served_with_the_node_address(rest: RestNode) -> None:
    r = httpx.get(f"{rest.url}/soap?wsdl", timeout=10)
    assert r.status_code == 200
    root = etree.fromstring(r.content)

    def xpath(expr: str) -> list[str]:
        return [str(v) for v in root.xpath(expr, namespaces=ns)]  # type: ignore[union-attr]

    ns = {"w": "http://schemas.xmlsoap.org/wsdl/", "s11": "http://schemas.xmlsoap.org/wsdl/soap/",
          "s12": "http://schemas.xmlsoap.org/wsdl/soap12/"}
    assert xpath("//s11:address/@location") == [f"{rest.url}/soap/11"]
    assert xpath("//s12:address/@location") == [f"{rest.url}/soap/12"]
    assert set(xpath("//w:portType/w:operation/@name")) == set(operations.OPERATIONS)
    # Both bindings are document/literal, each operation with its SOAP action.
    assert set(xpath("//s11:binding/@style | //s12:binding/@style")) == {"document"}
    assert set(xpath("//s11:body/@use | //s12:body/@use")) == {"literal"}
    assert len(set(xpath("//s11:operation/@soapAction"))) == len(operations.OPERATIONS)


def _schema(rest: RestNode) -> etree.XMLSchema:
    wsdl = etree.fromstring(httpx.get(f"{rest.url}/soap?wsdl", timeout=10).content)
    xsd = wsdl.find(".//{http://www.w3.org/2001/XMLSchema}schema")
    assert xsd is not None
    return etree.XMLSchema(xsd)


def test_send_list_get_status_trail_agencies(rest: RestNode, version: str) -> None:
    t = rest.t
    ubnd = soap_client(rest, version, UBND)
    noi_vu = soap_client(rest, version, NOI_VU)
    schema = _schema(rest)
    replies: list[bytes] = []

    def body_of(s: Soap) -> None:  # every answer is valid against the WSDL's own types
        assert s.transport.last is not None
        replies.append(s.transport.last.content)

    doc_id, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 501)
    receipt = ubnd.service.sendEdoc(messageType="edoc", edoc=raw)
    body_of(ubnd)
    assert (receipt.message_type, receipt.document_id, receipt.sender) == ("edoc", doc_id, UBND)
    assert receipt.accepted_at == datetime(2026, 11, 24, 9, 0, tzinfo=VN)
    assert [d.recipient for d in receipt.delivery] == [NOI_VU, TAI_CHINH]
    assert not receipt.duplicate and receipt.journal_seq > 0 and receipt.warning == []
    copy = receipt.delivery[0].doc_id
    settled(t, lambda: [(i.doc_id, i.sender, i.document_id, i.business_type, i.status_code,
                         i.priority) for i in noi_vu.service.getReceivedEdocList().item],
            [(copy, UBND, doc_id, 0, None, 0)])
    page = noi_vu.service.getReceivedEdocList()
    body_of(noi_vu)
    assert (page.offset, page.limit, page.next_offset) == (0, 100, None)
    assert noi_vu.service.getReceivedEdocList(messageType="status").item == []
    later = t.clock.now() + timedelta(seconds=1)
    assert noi_vu.service.getReceivedEdocList(since=later).item == []
    assert len(noi_vu.service.getReceivedEdocList(until=later, limit=1).item) == 1

    t.clock.advance(timedelta(hours=9, minutes=30))  # taken at 18:30, outside office hours
    got = noi_vu.service.getEdoc(docId=copy)
    body_of(noi_vu)
    assert got.edoc == raw  # byte-identical through base64
    assert got.delivered_at == datetime(2026, 11, 24, 18, 30, tzinfo=VN)
    assert got.effective_at == datetime(2026, 11, 25, 7, 30, tzinfo=VN)
    assert (got.sender, got.message_type) == (UBND, "edoc")
    assert noi_vu.service.getReceivedEdocList().item == []

    done = noi_vu.service.updateStatus(docId=copy, status="processing")
    body_of(noi_vu)
    assert (done.doc_id, done.status) == (copy, "processing")
    status = t.status(NOI_VU, UBND, doc_id, StatusCode.DONE, "Đã xử lý xong")
    assert noi_vu.service.sendEdoc(messageType="status", edoc=status).message_type == "status"
    settled(t, lambda: [(i.sender, i.status_code) for i in
                        ubnd.service.getReceivedEdocList(messageType="status").item],
            [(NOI_VU, "01"), (NOI_VU, "06")])

    trail = ubnd.service.getTrail(documentId=doc_id)
    body_of(ubnd)
    assert trail.document_id == doc_id
    assert {e.agency for e in trail.event} == {UBND, NOI_VU, TAI_CHINH}
    delivered = [(e.agency, e.effective_at) for e in trail.event if e.event == "delivered"]
    assert delivered == [(NOI_VU, datetime(2026, 11, 25, 7, 30, tzinfo=VN))]
    stranger = soap_client(rest, version, KE_HOACH)
    fault_of(lambda: stranger.service.getTrail(documentId=doc_id), "api.document_unknown",
             stranger)

    listed = noi_vu.service.getAgencies()
    body_of(noi_vu)
    assert listed.caller == NOI_VU
    mine = next(a for a in listed.agency if a.agency_id == NOI_VU)
    assert (mine.short_id, mine.parent_id, mine.level, mine.state) == ("H37.02", UBND, 2,
                                                                       "active")
    env = SOAP11 if version == "1.1" else SOAP12
    for reply in replies:
        payload = etree.fromstring(reply).find(env.q("Body"))[0]  # type: ignore[index]
        schema.assertValid(payload)


def test_bad_signature(rest: RestNode, version: str) -> None:
    sid, secret = rest.credential(UBND)
    wrong = Soap(rest, version, sid, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    fault_of(wrong.service.getAgencies, "auth.signature_invalid", wrong)
    # The envelope is signed: a byte changed after signing is refused.
    good = Soap(rest, version, sid, secret)
    good.transport.tamper = lambda body: body.replace(b"<soap-env:Body>",
                                                      b"<soap-env:Body >")
    out = fault_of(good.service.getAgencies, "auth.signature_invalid", good)
    assert "canonical string" in out["detail"]
    none = Soap(rest, version, "no-such-system", secret)
    fault_of(none.service.getAgencies, "registry.credential_invalid", none)


def test_unauthenticated_and_malformed_requests(rest: RestNode, version: str) -> None:
    env = SOAP11 if version == "1.1" else SOAP12
    envelope = (f'<s:Envelope xmlns:s="{env.env}"><s:Body><a:getAgencies xmlns:a="{TNS}"/>'
                f"</s:Body></s:Envelope>").encode()
    r = httpx.post(f"{rest.url}/soap/{version.replace('.', '')}", content=envelope,
                   headers={"content-type": env.content_type}, timeout=10)
    assert r.status_code == (500 if version == "1.1" else 400)
    assert r.headers["www-authenticate"].startswith("AxisHMAC")
    assert b"<axis:code>auth.missing</axis:code>" in r.content
    sid, secret = rest.credential(UBND)

    def signed(body: bytes, content_type: str = env.content_type,
               sent_to: str = "") -> httpx.Response:
        ts = f"{rest.t.clock.now().timestamp():.0f}.{next(_seq):06d}"
        path = f"/soap/{version.replace('.', '')}"
        return httpx.post(rest.url + (sent_to or path), content=body, timeout=10, headers={
            "content-type": content_type, signing.SYSTEM_ID_HEADER: sid,
            signing.TIMESTAMP_HEADER: ts,
            signing.SIGNATURE_HEADER: signing.sign_request(secret, "POST", path, ts, body)})

    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]>' + envelope
    for body, needle in ((doctype, b"edxml.doctype_forbidden"),
                         (envelope.replace(b"getAgencies", b"dropTables"), b"dropTables"),
                         (envelope.replace(env.env.encode(), b"urn:other"), b"Envelope")):
        r = signed(body)
        assert b"<axis:code>api.invalid_request</axis:code>" in r.content, r.content
        assert needle in r.content
    assert b"application/soap+xml" in signed(envelope, "application/json").content
    # The path is signed: a signature for /soap/11 does not open /soap/12 (and back).
    other = "/soap/12" if version == "1.1" else "/soap/11"
    assert b"auth.signature_invalid" in signed(envelope, sent_to=other).content
    assert signed(envelope).status_code == 200


def test_unknown_recipient_and_sender_mismatch(rest: RestNode, version: str) -> None:
    ubnd, noi_vu = soap_client(rest, version, UBND), soap_client(rest, version, NOI_VU)
    _, raw = rest.t.document(UBND, ("000.00.99.H37",), 502)
    out = fault_of(lambda: ubnd.service.sendEdoc(edoc=raw), "route.unknown_agency", ubnd)
    last = list(rest.t.node.store.journal())[-1]
    assert (last.kind, last.subject) == ("package.refused", out["error_id"])  # journaled
    _, raw = rest.t.document(UBND, (TAI_CHINH,), 503)
    out = fault_of(lambda: noi_vu.service.sendEdoc(edoc=raw), "auth.sender_mismatch", noi_vu)
    assert list(rest.t.node.store.journal())[-1].subject == out["error_id"]
    assert rest.t.deliver_all() == 0


def test_replayed_request_and_expired_timestamp(rest: RestNode, version: str) -> None:
    client = soap_client(rest, version, UBND)
    now = rest.t.clock.now().timestamp()
    client.transport.timestamp = f"{now:.0f}.000001"
    assert client.service.getAgencies().caller == UBND
    fault_of(client.service.getAgencies, "auth.replayed", client)  # same bytes, same signature
    for skew in (-301, 301):
        client.transport.timestamp = str(int(now + skew))
        fault_of(client.service.getAgencies, "auth.timestamp_invalid", client)
    client.transport.timestamp = None
    assert client.service.getAgencies().caller == UBND


def test_revoked_credential(rest: RestNode, version: str) -> None:
    system_id = f"ubnd-soap-{version.replace('.', '')}"
    client = soap_client(rest, version, UBND, system_id=system_id)
    assert client.service.getAgencies().caller == UBND
    rest.t.node.registry.revoke_credential(system_id, actor="soc", reason="lộ khóa")
    fault_of(client.service.getAgencies, "registry.credential_invalid", client)


def test_rate_limit(node_dir: Any, version: str) -> None:
    with serve(node_dir, RestSettings(rate_per_minute=60, burst=3)) as rest:
        client = soap_client(rest, version, UBND)
        for _ in range(3):
            client.service.getAgencies()
        out = fault_of(client.service.getAgencies, "auth.rate_limited", client, status=429)
        assert out["retry_after"] == "1"
        assert client.transport.last is not None
        assert client.transport.last.headers["retry-after"] == "1"


def test_node_fault_is_a_server_fault(rest: RestNode, version: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("disk on fire")

    client = soap_client(rest, version, UBND)
    monkeypatch.setitem(operations.OPERATIONS, "getAgencies",
                        (lambda *_: boom(), ()))
    out = fault_of(client.service.getAgencies, "node.internal", client, sender=False)
    assert "disk on fire" not in out["detail"]
