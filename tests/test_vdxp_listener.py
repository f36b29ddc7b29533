"""The national-axis compatibility listener (/vdxp/) end to end through a real uvicorn
server, called as an SDK-built connector calls the national axis: requests written from
the spec (tests/vdxp_support.py), real signed packages, real HMAC. Covers the exchange
(send, list, fetch byte-identical, acknowledge, sent list, registry), every refusal the
mode's compensations add, and the journal entry of every call."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, UBND, TestNode, start_node
from vdxp_support import VdxpNode, sdk_headers, serve_vdxp

from axis import errors
from axis.auth import vdxp
from axis.clock import VN_TZ
from axis.edxml.model import StatusCode
from axis.errors import AxisError
from axis.route.model import TransportState
from axis.settings import RestSettings, VdxpSettings, VdxpSystem

LOCAL = (ip_network("127.0.0.1/32"),)
ELSEWHERE = (ip_network("10.20.0.0/16"),)


def settings(**kw: Any) -> VdxpSettings:
    systems = (
        VdxpSystem(system_id="sdk-ubnd", addresses=LOCAL),
        VdxpSystem(system_id="sdk-noivu", addresses=LOCAL),
        VdxpSystem(system_id="sdk-taichinh", addresses=LOCAL, timestamp_window_minutes=240),
        VdxpSystem(system_id="sdk-kehoach", addresses=ELSEWHERE),
    )
    return VdxpSettings(**{"enabled": True, "systems": systems, **kw})


@pytest.fixture()
def node(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    t = start_node(tmp_path, *pki_dirs)
    yield t
    t.node.close()


@pytest.fixture()
def v(node: TestNode) -> Iterator[VdxpNode]:
    with serve_vdxp(node, settings()) as served:
        yield served


class Sdk:
    """One connector: a system id, its secret and a plain HTTP client."""

    def __init__(self, v: VdxpNode, system_id: str, secret: str) -> None:
        self.v, self.system_id, self.secret = v, system_id, secret
        self.http = httpx.Client(timeout=30)

    def headers(self, params: dict[str, str], **kw: Any) -> list[tuple[str, str]]:
        return sdk_headers(self.system_id, self.secret, params, self.v.t.clock.now(), **kw)

    def call(self, operation: str, params: dict[str, str] | None = None, *,
             method: str = "POST", headers: list[tuple[str, str]] | None = None,
             **kw: Any) -> httpx.Response:
        h = headers if headers is not None else self.headers(params or {})
        r = self.http.request(method, f"{self.v.url}/{operation}", headers=h, **kw)
        assert r.status_code == 200  # the SDK's contract: always 200, the envelope says
        return r

    def envelope(self, operation: str, params: dict[str, str] | None = None,
                 **kw: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.call(operation, params, **kw).json()
        return body

    def send(self, raw: bytes, message_type: str = "edoc", recipients: tuple[str, ...] = (),
             *, file_hash: str | None = None) -> dict[str, Any]:
        params = {"from": "", "servicetype": "eDoc", "messagetype": message_type,
                  "to": json.dumps(list(recipients)),
                  "hash-file": file_hash or hashlib.sha256(raw).hexdigest()}
        return self.envelope("sendEdoc", params,
                             files={"file_doc": ("van-ban.edxml", raw, "application/xml")})


def sdk(v: VdxpNode, agency_id: str, system_id: str) -> Sdk:
    return Sdk(v, system_id, v.credential(agency_id, system_id))


def refused(answer: dict[str, Any], code: str) -> None:
    assert answer["status"] == "FAIL", answer
    assert answer["ErrorCode"] == code, answer
    assert " / " in answer["ErrorDesc"] and answer["ErrorId"]  # Vietnamese / English


def test_send_list_fetch_acknowledge_and_sent_list(v: VdxpNode) -> None:
    t = v.t
    ubnd, noi_vu = sdk(v, UBND, "sdk-ubnd"), sdk(v, NOI_VU, "sdk-noivu")
    tai_chinh = sdk(v, TAI_CHINH, "sdk-taichinh")
    doc_id, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 501)

    sent = ubnd.send(raw, recipients=(NOI_VU, TAI_CHINH))
    assert sent["status"] == "OK" and sent["ErrorCode"] == "0"
    assert sent["DocId"] == hashlib.sha256(raw).hexdigest()
    copies = {d["to"]: d["docId"] for d in sent["deliveries"]}
    assert set(copies) == {NOI_VU, TAI_CHINH}
    t.deliver_all()

    listed = noi_vu.envelope("getReceivedEdocList",
                             {"servicetype": "eDoc", "messagetype": "edoc"})
    assert listed["status"] == "OK"
    assert [(i["docId"], i["from"], i["messageType"]) for i in listed["data"]] == [
        (copies[NOI_VU], UBND, "edoc")]
    assert noi_vu.envelope("getReceivedEdocList",
                           {"servicetype": "eDoc", "messagetype": "status"})["data"] == []
    assert tai_chinh.envelope("countReceiveEdoc", method="GET")["count"] == 1

    got = noi_vu.envelope("getEdoc", {"docId": copies[NOI_VU]})
    assert got["status"] == "OK" and got["data"].encode("utf-8") == raw
    downloaded = noi_vu.call("downloadEdoc", {"docId": copies[NOI_VU]}, method="GET")
    assert downloaded.content == raw  # byte-identical: the sender's signature holds
    # Another agency's copy is as unknown as one that does not exist.
    refused(tai_chinh.envelope("getEdoc", {"docId": copies[NOI_VU]}), "route.delivery_unknown")

    assert noi_vu.envelope("updateStatus", {"docId": copies[NOI_VU], "status": "done"})[
        "status"] == "OK"
    with t.node.store.transaction() as tx:
        d = tx.get_delivery(copies[NOI_VU])
    assert d is not None and d.transport_state is TransportState.DONE
    refused(noi_vu.envelope("updateStatus", {"docId": copies[NOI_VU], "status": "read"}),
            "vdxp.bad_request")

    # A business status travels back as a signed status package, messagetype status.
    status = t.status(NOI_VU, UBND, doc_id, StatusCode.DONE, "Đã xử lý xong")
    assert noi_vu.send(status, "status", (UBND,))["status"] == "OK"
    refused(noi_vu.send(t.status(NOI_VU, UBND, doc_id, StatusCode.IN_PROGRESS), "edoc"),
            "policy.message_type_mismatch")
    t.deliver_all()
    statuses = ubnd.envelope("getReceivedEdocList",
                             {"servicetype": "eDoc", "messagetype": "status"})["data"]
    assert NOI_VU in {i["from"] for i in statuses}
    assert ubnd.envelope("countReceiveStatus", method="GET")["count"] == len(statuses)

    rows = ubnd.envelope("getSentEdocList")["data"]
    mine = [r for r in rows if r["senderDocId"] == sent["DocId"]]
    assert {(r["toCode"], r["receiverDocId"]) for r in mine} == set(
        (k, c) for k, c in copies.items())
    delivered = next(r for r in mine if r["toCode"] == NOI_VU)
    assert delivered["receiveStatus"] == "done" and delivered["sendStatus"] == "delivered"
    assert noi_vu.envelope("getSentEdocList")["data"][0]["fromCode"] == NOI_VU


def test_registry_operations(v: VdxpNode) -> None:
    ubnd = sdk(v, UBND, "sdk-ubnd")
    plain = ubnd.envelope("getAgenciesList", content=b"{}")
    qd20 = ubnd.envelope("getAgenciesListQD20", content=b'{"level":"1"}')
    assert plain["status"] == "OK" and UBND in {a["id"] for a in plain["data"]}
    row = next(a for a in qd20["data"] if a["id"] == UBND)
    assert row["code102"] == UBND and set(row) >= {"id", "code", "pid", "name", "mail"}
    assert len(qd20["data"]) <= len(plain["data"])
    # Agency systems do not change who is served where.
    refused(ubnd.envelope("registerAgency", content=b'{"code":"X"}'), "auth.admin_forbidden")
    refused(ubnd.envelope("deleteAgency", {"AgencyCode": NOI_VU}), "auth.admin_forbidden")
    refused(ubnd.envelope("getSynchronizeUnit"), "auth.admin_forbidden")
    refused(ubnd.envelope("noSuchOperation"), "vdxp.bad_request")


def test_mode_off_refuses_every_call(node: TestNode) -> None:
    with serve_vdxp(node, settings(enabled=False)) as v:
        ubnd = sdk(v, UBND, "sdk-ubnd")
        refused(ubnd.envelope("getReceivedEdocList", {"messagetype": "edoc"}),
                "vdxp.disabled")
        [entry] = v.journal()
        assert entry["outcome"] == "refused" and entry["code"] == "vdxp.disabled"
        assert entry["mode"] == "vdxp-compat"


def test_unlisted_system_unknown_credential_and_revocation(v: VdxpNode) -> None:
    # A live credential, but the system is not enabled for this mode.
    refused(sdk(v, TAI_CHINH, "rest-only").envelope("countReceiveEdoc"), "vdxp.disabled")
    # Listed, but no credential was ever issued under that id.
    ghost = Sdk(v, "sdk-noivu", "not-the-secret")
    refused(ghost.envelope("countReceiveEdoc"), "registry.credential_invalid")
    ubnd = sdk(v, UBND, "sdk-ubnd")
    assert ubnd.envelope("countReceiveEdoc")["status"] == "OK"
    v.t.node.registry.revoke_credential("sdk-ubnd", actor="test", reason="lộ khóa")
    refused(ubnd.envelope("countReceiveEdoc"), "registry.credential_invalid")


def test_source_binding(v: VdxpNode) -> None:
    # Bound to 10.20.0.0/16 only: a call from 127.0.0.1 is refused, however well signed.
    ke_hoach = sdk(v, KE_HOACH, "sdk-kehoach")
    refused(ke_hoach.envelope("countReceiveEdoc"), "vdxp.source_not_allowed")
    # X-Forwarded-For is not believed from a peer that is not a trusted proxy.
    refused(ke_hoach.envelope("countReceiveEdoc",
                              headers=[*ke_hoach.headers({}), ("X-Forwarded-For", "10.20.1.1")]),
            "vdxp.source_not_allowed")


def test_source_bound_by_address_behind_proxy_or_by_certificate(
        node: TestNode, pki_dirs: tuple[Path, Path]) -> None:
    pem = (pki_dirs[0] / f"{KE_HOACH}.pem").read_text()
    fp = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex()
    vs = VdxpSettings(enabled=True, systems=(
        VdxpSystem(system_id="sdk-kehoach", addresses=ELSEWHERE),
        VdxpSystem(system_id="sdk-cert", addresses=ELSEWHERE, client_cert_fingerprints=(fp,)),
    ))
    rest = RestSettings(client_cert_header="X-Client-Cert", trusted_proxies=LOCAL)
    with serve_vdxp(node, vs, rest) as v:
        ke_hoach = sdk(v, KE_HOACH, "sdk-kehoach")
        behind = [*ke_hoach.headers({}), ("X-Forwarded-For", "10.20.1.1")]
        assert ke_hoach.envelope("countReceiveEdoc", headers=behind)["status"] == "OK"
        cert = sdk(v, KE_HOACH, "sdk-cert")
        with_cert = [*cert.headers({}), ("X-Client-Cert", urllib.parse.quote(pem))]
        assert cert.envelope("countReceiveEdoc", headers=with_cert)["status"] == "OK"
        refused(cert.envelope("countReceiveEdoc"), "vdxp.source_not_allowed")


def test_signature_refusals(v: VdxpNode) -> None:
    t = v.t
    ubnd, noi_vu = sdk(v, UBND, "sdk-ubnd"), sdk(v, NOI_VU, "sdk-noivu")
    _, raw = t.document(UBND, (NOI_VU,), 502)
    copy = ubnd.send(raw, recipients=(NOI_VU,))["deliveries"][0]["docId"]
    t.deliver_all()

    # A forged MAC: signed with a secret that is not the system's.
    forger = Sdk(v, "sdk-noivu", "a-guess-at-the-secret")
    forged = forger.headers({"docId": copy})
    refused(noi_vu.envelope("getEdoc", headers=forged), "vdxp.bad_signature")

    # A header changed on the way: the signed JSON says one docId, the header another.
    tampered = [(n, "other-copy" if n.lower().endswith("docid") else val)
                for n, val in noi_vu.headers({"docId": copy})]
    refused(noi_vu.envelope("getEdoc", headers=tampered), "vdxp.bad_signature")
    # Plain and prefixed forms that disagree are refused, not chosen between.
    split = [(n, "other-copy" if n == "docId" else val)
             for n, val in noi_vu.headers({"docId": copy})]
    refused(noi_vu.envelope("getEdoc", headers=split), "vdxp.bad_request")
    # A parameter the operation reads, added unsigned.
    unsigned = [*noi_vu.headers({}), ("docId", copy)]
    refused(noi_vu.envelope("getEdoc", headers=unsigned), "vdxp.bad_signature")
    # The system id and timestamp must be signed (vdxp.signed_required).
    refused(noi_vu.envelope("getEdoc", headers=noi_vu.headers({"docId": copy},
                                                              sign_meta=False)),
            "vdxp.bad_signature")
    # No signature at all.
    refused(noi_vu.envelope("getEdoc", headers=[("XroadVnpt-systemid", "sdk-noivu"),
                                                ("docId", copy)]), "vdxp.bad_signature")

    # hash-file is signed: a file_doc that is not the hashed one is refused.
    _, other = t.document(UBND, (NOI_VU,), 503)
    refused(ubnd.send(other, recipients=(NOI_VU,),
                      file_hash=hashlib.sha256(b"another file").hexdigest()),
            "vdxp.bad_signature")
    # The same signed headers again with another file: a replay, refused before anything.
    refused(ubnd.send(other, recipients=(NOI_VU,),
                      file_hash=hashlib.sha256(raw).hexdigest()), "vdxp.stale")
    assert noi_vu.envelope("getEdoc", {"docId": copy})["data"].encode() == raw


def test_timestamp_window_replay_and_rate_limit(node: TestNode) -> None:
    with serve_vdxp(node, settings(rate_per_minute=1, burst=8)) as v:
        t = v.t
        ubnd, noi_vu = sdk(v, UBND, "sdk-ubnd"), sdk(v, NOI_VU, "sdk-noivu")
        tai_chinh = sdk(v, TAI_CHINH, "sdk-taichinh")
        _, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 504)
        sent = ubnd.send(raw, recipients=(NOI_VU, TAI_CHINH))  # token 1 of ubnd's 8
        copies = {d["to"]: d["docId"] for d in sent["deliveries"]}
        t.deliver_all()

        # The SDK fixes its timestamp at start: the same headers reused 16 minutes later
        # are stale for a 15-minute system, fine for one allowed 4 hours.
        old = noi_vu.headers({"messagetype": "edoc"})
        old_tc = tai_chinh.headers({"messagetype": "edoc"})
        t.clock.advance(timedelta(minutes=16))
        refused(noi_vu.envelope("getReceivedEdocList", headers=old), "vdxp.stale")
        assert tai_chinh.envelope("getReceivedEdocList", headers=old_tc)["status"] == "OK"
        # Reads repeat: a poller sends the very same signed headers again.
        assert tai_chinh.envelope("getReceivedEdocList", headers=old_tc)["status"] == "OK"

        # A state change is accepted once: the same signed updateStatus again is refused.
        ack = noi_vu.headers({"docId": copies[NOI_VU], "status": "processing"})
        assert noi_vu.envelope("updateStatus", headers=ack)["status"] == "OK"
        refused(noi_vu.envelope("updateStatus", headers=ack), "vdxp.stale")
        # So is a replayed sendEdoc (same signed headers, same file).
        again = ubnd.headers({"from": UBND, "messagetype": "edoc",
                              "hash-file": hashlib.sha256(raw).hexdigest()})
        files = {"file_doc": ("a.edxml", raw, "application/xml")}
        assert ubnd.envelope("sendEdoc", headers=again, files=files)["duplicate"] is True
        refused(ubnd.envelope("sendEdoc", headers=again, files=files), "vdxp.stale")

        # Rate limit per system, 8 at once and 1 a minute: ubnd's bucket, full again after
        # the 16 minutes, has given 1 to the second sendEdoc (a replay spends none).
        answers = [ubnd.envelope("countReceiveEdoc") for _ in range(8)]
        assert [a["status"] for a in answers] == ["OK"] * 7 + ["FAIL"]
        refused(answers[-1], "auth.rate_limited")
        assert answers[-1]["RetryAfter"] >= 1
        # Other systems keep their own buckets.
        assert noi_vu.envelope("countReceiveEdoc")["status"] == "OK"


def test_every_call_is_journaled_with_its_mode(v: VdxpNode) -> None:
    ubnd = sdk(v, UBND, "sdk-ubnd")
    _, raw = v.t.document(UBND, (NOI_VU,), 505)
    assert ubnd.send(raw, recipients=(NOI_VU,))["status"] == "OK"
    refused(Sdk(v, "sdk-ubnd", "wrong").envelope("countReceiveEdoc"), "vdxp.bad_signature")
    refused(sdk(v, KE_HOACH, "sdk-kehoach").envelope("countReceiveEdoc"),
            "vdxp.source_not_allowed")
    entries = v.journal()
    assert [(e["system"], e["operation"], e["outcome"], e["code"]) for e in entries] == [
        ("sdk-ubnd", "sendEdoc", "accepted", "0"),
        ("sdk-ubnd", "countReceiveEdoc", "refused", "vdxp.bad_signature"),
        ("sdk-kehoach", "countReceiveEdoc", "refused", "vdxp.source_not_allowed"),
    ]
    assert all(e["mode"] == "vdxp-compat" and e["source"] == "127.0.0.1" for e in entries)
    assert entries[0]["agency"] == UBND and entries[1]["error_id"]
    # The package itself went through the ordinary pipeline and its journal.
    assert v.journal("delivery.queued")


# --- the pure checks (axis/auth/vdxp.py) ------------------------------------------------

def test_timestamp_pattern_and_window() -> None:
    at = vdxp.parse_timestamp("24112026T090512+0042")
    assert at.isoformat() == "2026-11-24T09:05:12.042000+07:00"
    assert vdxp.format_timestamp(at) == "24112026T090512+0042"
    for bad in ("2026-11-24T09:05:12", "32112026T090512+0000", "24112026T090512"):
        with pytest.raises(AxisError) as exc:
            vdxp.parse_timestamp(bad)
        assert exc.value.code is errors.VDXP_BAD_SIGNATURE
    vdxp.check_window(at, at.astimezone(VN_TZ) + timedelta(minutes=15), timedelta(minutes=15))
    with pytest.raises(AxisError) as stale:
        vdxp.check_window(at, at - timedelta(minutes=16), timedelta(minutes=15))
    assert stale.value.code is errors.VDXP_STALE


def test_headers_collect_and_source_binding() -> None:
    params = vdxp.collect([("docId", "a"), ("XroadVnpt-DOCID", "a"), ("Status", "done")])
    assert params == {"docid": "a", "status": "done"}
    with pytest.raises(AxisError) as twice:
        vdxp.collect([("docId", "a"), ("xroadvnpt-docid", "b")])
    assert twice.value.code is errors.VDXP_BAD_REQUEST
    nets = [ip_network("10.20.0.0/16"), ip_network("2001:db8::/32")]
    assert vdxp.source_allowed("10.20.3.4", None, nets, ())
    assert vdxp.source_allowed("2001:db8::1", None, nets, ())
    assert not vdxp.source_allowed("10.21.0.1", None, nets, ())
    assert not vdxp.source_allowed("not-an-address", None, nets, ())
    assert vdxp.source_allowed(None, "AB" * 32, (), ("ab" * 32,))
    assert not vdxp.source_allowed(None, "cd" * 32, nets, ("ab" * 32,))
