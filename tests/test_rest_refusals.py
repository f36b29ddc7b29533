"""Every refusal of the agency API through a real uvicorn server on 127.0.0.1: each is
JSON with code, both messages and an error id, and the HTTP status of its fault side."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from exchange_support import NOI_VU, TAI_CHINH, UBND, start_node
from rest_support import RestNode, serve

from adapters.client.agency import AgencyApiError, AgencyClient
from adapters.rest import agency
from axis.auth import signing
from axis.settings import RestSettings


@pytest.fixture()
def node_dir(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[Any]:
    t = start_node(tmp_path, *pki_dirs)
    yield t
    t.node.close()


@pytest.fixture()
def rest(node_dir: Any) -> Iterator[RestNode]:
    with serve(node_dir) as r:
        yield r


def refused(call: Any, status: int, code: str) -> AgencyApiError:
    with pytest.raises(AgencyApiError) as info:
        call()
    err = info.value
    assert (err.status, err.code) == (status, code), err
    assert err.message_vi and err.message_en and err.error_id
    return err


def journaled_refusal(rest: RestNode, error_id: str, code: str) -> None:
    last = list(rest.t.node.store.journal())[-1]
    assert (last.kind, last.subject) == ("package.refused", error_id)
    assert last.payload["code"] == code


def test_unauthenticated_requests_are_refused(rest: RestNode) -> None:
    """Deny by default: every operation of the agency API, as published, refuses a
    request without the signature headers before looking at anything else."""
    paths = httpx.get(f"{rest.url}/openapi.json", timeout=10).json()["paths"]
    operations = [(m.upper(), p) for p, item in paths.items() if p.startswith("/v1/")
                  for m in item]
    assert len(operations) == 9  # with /v1/tasks, /v1/tasks/{code}, /v1/calendar/inspection
    for method, path in operations:
        r = httpx.request(method, f"{rest.url}{path}?docId=x&documentId=x",
                          content=b"<edXML/>" if method == "POST" else None, timeout=10)
        assert r.status_code == 401, (method, path)
        body = r.json()
        assert body["code"] == "auth.missing" and body["error_id"]
        assert body["message_vi"] and body["message_en"]
        assert r.headers["www-authenticate"].startswith("AxisHMAC")
    # Malformed headers are as good as none.
    bad = {signing.SYSTEM_ID_HEADER: "co dau!", signing.TIMESTAMP_HEADER: "yesterday",
           signing.SIGNATURE_HEADER: "zz"}
    r = httpx.get(rest.url + "/v1/agencies", headers=bad, timeout=10)
    assert (r.status_code, r.json()["code"]) == (401, "auth.missing")


def test_bad_signature(rest: RestNode) -> None:
    sid, secret = rest.credential(UBND)
    wrong = rest.client_for(sid, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    refused(wrong.agencies, 401, "auth.signature_invalid")
    # A body changed after signing fails too: the body hash is signed.
    good = rest.client_for(sid, secret)
    req = good.prepare("POST", "/v1/updateStatus", json={"docId": "x", "status": "done"})
    # Same length: only the bytes differ.
    tampered = httpx.Request("POST", req.url, headers=req.headers,
                             content=req.content.replace(b'"x"', b'"y"'))
    err = refused(lambda: good.dispatch(tampered), 401, "auth.signature_invalid")
    assert "canonical string" in err.detail
    # And so does a signature for another path.
    req = good.prepare("GET", "/v1/agencies")
    moved = httpx.Request("GET", str(req.url).replace("/v1/agencies",
                                                      "/v1/syncReceivedEdocList"),
                          headers=req.headers)
    refused(lambda: good.dispatch(moved), 401, "auth.signature_invalid")
    # An unknown system id is refused like a revoked one.
    refused(rest.client_for("no-such-system", secret).agencies, 401,
            "registry.credential_invalid")


def test_replayed_request(rest: RestNode) -> None:
    client = rest.client(UBND)
    req = client.prepare("GET", "/v1/agencies")
    assert client.dispatch(req).status_code == 200
    refused(lambda: client.dispatch(req), 401, "auth.replayed")
    # Two identical requests signed apart are two requests.
    assert client.agencies() == client.agencies()


@pytest.mark.parametrize("skew", [-301, 301])
def test_expired_or_future_timestamp(rest: RestNode, skew: int) -> None:
    client = rest.client(UBND)
    now = rest.t.clock.now().timestamp()
    req = client.prepare("GET", "/v1/agencies", sign=False)
    client.sign(req, timestamp=str(int(now + skew)))
    refused(lambda: client.dispatch(req), 401, "auth.timestamp_invalid")
    req = client.prepare("GET", "/v1/agencies", sign=False)
    client.sign(req, timestamp=str(int(now + (299 if skew > 0 else -299))))
    assert client.dispatch(req).status_code == 200  # inside the window


def test_revoked_credential_fails_on_the_next_request(rest: RestNode) -> None:
    """Art. 22: a compromised credential is cut off at once."""
    client = rest.client(UBND, system_id="ubnd-qlvb")
    assert client.agencies()["caller"] == UBND
    rest.t.node.registry.revoke_credential("ubnd-qlvb", actor="soc", reason="lộ khóa")
    refused(client.agencies, 401, "registry.credential_invalid")
    # A suspended agency's credentials stop working too.
    other = rest.client(NOI_VU)
    rest.t.node.registry.suspend(NOI_VU, actor="test", reason="sự cố an toàn thông tin")
    refused(other.agencies, 401, "registry.credential_invalid")


def test_unknown_recipient_is_refused_and_journaled(rest: RestNode) -> None:
    _, raw = rest.t.document(UBND, ("000.00.99.H37",), 401)
    err = refused(lambda: rest.client(UBND).send(raw), 404, "route.unknown_agency")
    journaled_refusal(rest, err.error_id, "route.unknown_agency")


def test_sender_mismatch(rest: RestNode) -> None:
    """Nội vụ's system sends a package signed by and from UBND: refused after the
    signature check, on the signed sender, and journaled."""
    _, raw = rest.t.document(UBND, (TAI_CHINH,), 402)
    err = refused(lambda: rest.client(NOI_VU).send(raw), 403, "auth.sender_mismatch")
    journaled_refusal(rest, err.error_id, "auth.sender_mismatch")
    assert rest.t.deliver_all() == 0


def test_message_type_must_match(rest: RestNode) -> None:
    _, raw = rest.t.document(UBND, (NOI_VU,), 403)
    refused(lambda: rest.client(UBND).send(raw, message_type="status"), 400,
            "policy.message_type_mismatch")


def test_package_refusals_carry_findings(rest: RestNode) -> None:
    client = rest.client(UBND)
    refused(lambda: client.send(b"", multipart=False), 400, "edxml.empty")
    err = refused(lambda: client.send(b"<edXML><oops></edXML>"), 400, "edxml.not_well_formed")
    assert err.error_id


def test_other_agencies_copies_are_not_found(rest: RestNode) -> None:
    _, raw = rest.t.document(UBND, (NOI_VU,), 404)
    copy = rest.client(UBND).send(raw)["deliveries"][0]["doc_id"]
    rest.t.deliver_all()
    tai_chinh = rest.client(TAI_CHINH)
    refused(lambda: tai_chinh.get(copy), 404, "route.delivery_unknown")
    refused(lambda: tai_chinh.update_status(copy, "done"), 404, "route.delivery_unknown")


def test_invalid_parameters(rest: RestNode) -> None:
    client = rest.client(UBND)
    refused(lambda: client.update_status("x", "finished"), 422, "api.invalid_request")
    refused(lambda: client.request("GET", "/v1/syncReceivedEdocList",
                                   params={"limit": 0}), 422, "api.invalid_request")
    refused(lambda: client.request("GET", "/v1/getEdoc"), 422, "api.invalid_request")
    refused(lambda: client.request("GET", "/v1/nothing-here"), 404, "api.not_found")
    refused(lambda: client.request("DELETE", "/v1/agencies"), 405, "api.method_not_allowed")


def test_unexpected_fault_is_500_with_a_logged_error_id(
    rest: RestNode, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    # Only the agency API's own path breaks (the node's background loops read inboxes too).
    monkeypatch.setattr(agency, "as_vietnam", boom)
    err = refused(lambda: rest.client(UBND).pull_page(since=rest.t.clock.now()), 500,
                  "node.internal")
    assert "disk on fire" not in err.detail  # no internals to the caller …
    logged = [r for r in caplog.records if getattr(r, "error_id", None) == err.error_id]
    assert any(r.exc_info for r in logged)  # … but in the log, with the traceback


def test_rate_limit_per_agency(node_dir: Any) -> None:
    with serve(node_dir, RestSettings(rate_per_minute=60, burst=3)) as rest:
        ubnd, noi_vu = rest.client(UBND), rest.client(NOI_VU)
        for _ in range(3):
            ubnd.agencies()
        err = refused(ubnd.agencies, 429, "auth.rate_limited")
        assert err.retry_after == 1  # one token a second
        noi_vu.agencies()  # another agency has its own bucket
        rest.t.clock.advance(timedelta(seconds=1))
        ubnd.agencies()
        refused(ubnd.agencies, 429, "auth.rate_limited")


def test_body_too_large(node_dir: Any) -> None:
    with serve(node_dir, RestSettings(max_body_bytes=4096)) as rest:
        client = rest.client(UBND)
        _, raw = rest.t.document(UBND, (NOI_VU,), 405)
        raw += b"\n<!--" + b"x" * 4096 + b"-->"  # still one package, now too large
        assert len(raw) > 4096
        refused(lambda: client.send(raw, multipart=False), 413, "edxml.too_large")
        refused(lambda: client.send(raw), 413, "edxml.too_large")
        # JSON bodies are capped the same way (never read whole before authentication).
        big_json = b'{"docId": "x", "status": "done"' + b" " * 5000 + b"}"
        refused(lambda: client.request("POST", "/v1/updateStatus", content=big_json,
                                       headers={"Content-Type": "application/json"}),
                413, "edxml.too_large")
        # Without Content-Length (chunked), the cap holds while reading.
        def chunks() -> Iterator[bytes]:
            for i in range(0, len(raw), 1000):
                yield raw[i:i + 1000]
        req = client.prepare("POST", "/v1/sendEdoc", sign=False, content=chunks())
        req.headers[signing.SYSTEM_ID_HEADER] = client.system_id
        req.headers[signing.TIMESTAMP_HEADER] = str(int(rest.t.clock.now().timestamp()))
        req.headers[signing.SIGNATURE_HEADER] = "0" * 64
        assert "content-length" not in req.headers
        refused(lambda: client.dispatch(req), 413, "edxml.too_large")


def test_client_certificate_bound_in_the_registry(node_dir: Any) -> None:
    """Mutual TLS through a TLS-terminating proxy that forwards the client certificate."""
    from urllib.parse import quote

    from axis.trust import pki
    from axis.trust.verdict import fingerprint

    settings = RestSettings(client_cert_header="X-SSL-Client-Cert", require_client_cert=True)
    with serve(node_dir, settings) as rest:
        pki_dir = rest.t.pki_dir
        ubnd_pem = (pki_dir / f"{UBND}.pem").read_text()
        ubnd_fp = fingerprint(pki.load_certs(pki_dir / f"{UBND}.pem")[0])
        sid, secret = rest.credential(UBND)

        client = rest.client_for(sid, secret)

        def with_cert(pem: str | None) -> AgencyClient:
            client._http.headers.pop("X-SSL-Client-Cert", None)
            if pem is not None:
                client._http.headers["X-SSL-Client-Cert"] = quote(pem)
            return client

        refused(with_cert(None).agencies, 403, "auth.client_certificate")
        refused(with_cert(ubnd_pem).agencies, 403, "auth.client_certificate")  # not bound
        rest.t.node.registry.bind_certificate(UBND, ubnd_fp, actor="test", reason="mTLS")
        assert with_cert(ubnd_pem).agencies()["caller"] == UBND
        noi_vu_pem = (pki_dir / f"{NOI_VU}.pem").read_text()
        refused(with_cert(noi_vu_pem).agencies, 403, "auth.client_certificate")
