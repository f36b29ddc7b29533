"""Bad and ambiguous input at the edges is refused with a code, never a 5xx (issue 8,
items 12 and 16), through a real uvicorn server on 127.0.0.1.

Ambiguous: anything the operation reads once, given twice (a multipart part or field, a
query parameter, messageType in two places, an authentication header, a SOAP element or
Body) is refused with `api.duplicate_parameter`, never resolved by picking one. Bad: dates
with no Vietnam-time form (year 9999 with a negative offset), boundaries RFC 2046 does not
allow, control characters, a client hanging up mid-body: each a 4xx with its code. The
fuzz tests (tests/test_fuzz_edges.py) look for the whole class; these pin the examples.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import ADMIN_TOKEN, bearer, start
from exchange_support import NOI_VU, UBND
from lxml import etree
from rest_support import RestNode, serve
from starlette.requests import Request

from adapters.rest.auth import read_capped
from axis import errors
from axis.auth import signing
from axis.clock import as_vietnam, parse_wire_timestamp
from axis.edxml.model import StatusCode
from axis.errors import AxisError
from axis.settings import RestSettings

TNS = "urn:vn:gov:langson:axis:soap:1"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
OUT_OF_RANGE = ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00")


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory, pki_dirs: tuple[Path, Path]
         ) -> Iterator[RestNode]:
    t = start(tmp_path_factory.mktemp("node"), *pki_dirs)
    with serve(t, RestSettings(rate_per_minute=100_000, burst=100_000)) as r:
        yield r
    t.node.close()


@pytest.fixture(scope="module")
def client(rest: RestNode) -> Iterator[Any]:
    c = rest.client(UBND)
    yield c
    c.close()


def send(client: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Signed, whatever the body; the answer as it is (no raise)."""
    req = client.prepare(method, path, **kwargs)
    return client._http.send(req)  # type: ignore[no-any-return]


def code_of(r: httpx.Response) -> str:
    if r.headers.get("content-type", "").startswith("application/json"):
        return str(r.json()["code"])
    found = etree.fromstring(r.content).find(f".//{{{TNS}}}code")
    return found.text if found is not None and found.text else ""


def refused(r: httpx.Response, status: int, code: str) -> None:
    assert (r.status_code, code_of(r)) == (status, code), r.text[:500]


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> tuple[bytes, str]:
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value + b"\r\n" for name, value in parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _accepted(rest: RestNode) -> int:
    return sum(1 for e in rest.t.node.store.journal() if e.kind == "package.accepted")


# --- item 16: ambiguous requests -----------------------------------------------------------

def test_two_edoc_files_or_two_message_types_are_refused(rest: RestNode, client: Any) -> None:
    _, first = rest.t.document(UBND, (NOI_VU,), 401)
    _, second = rest.t.document(UBND, (NOI_VU,), 402)
    before = _accepted(rest)
    for parts in ([("edocFile", first), ("edocFile", second)],
                  [("edocFile", first), ("messageType", b"edoc"), ("messageType", b"status")],
                  [("messageType", b"edoc"), ("edocFile", first), ("messageType", b"edoc")]):
        body, ctype = _multipart(parts)
        refused(send(client, "POST", "/v1/sendEdoc", content=body,
                     headers={"Content-Type": ctype}), 422, "api.duplicate_parameter")
    # messageType in two places (query and form field, query and header): not a vote.
    body, ctype = _multipart([("edocFile", first), ("messageType", b"edoc")])
    refused(send(client, "POST", "/v1/sendEdoc", params={"messageType": "edoc"}, content=body,
                 headers={"Content-Type": ctype}), 422, "api.duplicate_parameter")
    refused(send(client, "POST", "/v1/sendEdoc", params={"messageType": "edoc"}, content=first,
                 headers={"Content-Type": "application/xml", "messagetype": "status"}),
            422, "api.duplicate_parameter")
    # A part that names itself twice.
    twice = (b'--b\r\nContent-Disposition: form-data; name="messageType"\r\n'
             b'Content-Disposition: form-data; name="edocFile"\r\n\r\n' + first +
             b"\r\n--b--\r\n")
    r = send(client, "POST", "/v1/sendEdoc", content=twice,
             headers={"Content-Type": "multipart/form-data; boundary=b"})
    refused(r, 422, "api.duplicate_parameter")
    assert _accepted(rest) == before
    # Refused at the edge, before the exchange: journaled with its error id all the same
    # (issue 8, item 10: every refusal, wherever it is decided).
    entries = {e.subject: e for e in rest.t.node.store.journal()
               if e.kind == "package.refused"}
    assert entries[r.json()["error_id"]].payload["code"] == "api.duplicate_parameter"
    # Once each: accepted.
    body, ctype = _multipart([("edocFile", first), ("messageType", b"edoc")])
    assert send(client, "POST", "/v1/sendEdoc", content=body,
                headers={"Content-Type": ctype}).status_code == 200


@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", "/v1/syncReceivedEdocList", [("limit", "1"), ("limit", "500")]),
    ("GET", "/v1/syncReceivedEdocList", [("messageType", "edoc"), ("messageType", "status")]),
    ("GET", "/v1/getEdoc", [("docId", "a"), ("docId", "b")]),
    ("GET", "/v1/trail", [("documentId", "a"), ("documentId", "a")]),
    ("GET", "/v1/agencies", [("x", "1"), ("x", "2")]),
    ("POST", "/v1/sendEdoc", [("messageType", "edoc"), ("messageType", "edoc")]),
])
def test_a_repeated_query_parameter_is_refused(
    client: Any, method: str, path: str, params: list[tuple[str, str]]
) -> None:
    r = send(client, method, path, params=params,
             content=b"<edXML/>" if method == "POST" else None)
    refused(r, 422, "api.duplicate_parameter")


@pytest.mark.parametrize("header", [signing.SYSTEM_ID_HEADER, signing.TIMESTAMP_HEADER,
                                    signing.SIGNATURE_HEADER, "Content-Type"])
def test_a_repeated_authentication_or_content_header_is_refused(client: Any,
                                                                header: str) -> None:
    req = client.prepare("GET", "/v1/agencies", headers={"Content-Type": "application/xml"})
    pairs = [(k, v) for k, v in req.headers.multi_items()]
    pairs.append((header, dict(pairs).get(header.lower(), "x")))
    r = client._http.send(httpx.Request("GET", req.url, headers=pairs))
    refused(r, 422, "api.duplicate_parameter")


def _soap(client: Any, inner: str, *, bodies: int = 1) -> httpx.Response:
    env = (f'<s:Envelope xmlns:s="{SOAP11}" xmlns:a="{TNS}">'
           + f"<s:Body>{inner}</s:Body>" * bodies + "</s:Envelope>").encode()
    return send(client, "POST", "/soap/11", content=env,
                headers={"Content-Type": "text/xml; charset=utf-8"})


def test_soap_duplicate_elements_and_bodies_are_refused(client: Any) -> None:
    refused(_soap(client, "<a:getReceivedEdocList><a:limit>1</a:limit><a:limit>2</a:limit>"
                          "</a:getReceivedEdocList>"), 500, "api.duplicate_parameter")
    refused(_soap(client, "<a:getAgencies/>", bodies=2), 500, "api.duplicate_parameter")
    assert _soap(client, "<a:getAgencies/>").status_code == 200


# --- item 12: bad input is a 4xx with a code ----------------------------------------------

def test_a_boundary_longer_than_rfc_2046_allows_is_refused(client: Any, rest: RestNode) -> None:
    _, raw = rest.t.document(UBND, (NOI_VU,), 403)
    for boundary in ("x" * 71, "x" * 300, "a\x7fb", "ends-with-space "):
        body, ctype = _multipart([("edocFile", raw)], boundary=boundary.strip() or "x")
        ctype = f'multipart/form-data; boundary="{boundary}"'
        refused(send(client, "POST", "/v1/sendEdoc", content=body,
                     headers={"Content-Type": ctype}), 422, "api.invalid_request")


@pytest.mark.parametrize("stamp", OUT_OF_RANGE)
def test_a_signed_package_with_a_date_out_of_vietnam_time_is_refused(
    rest: RestNode, client: Any, stamp: str
) -> None:
    doc_id, raw = rest.t.document(UBND, (NOI_VU,), 404)
    send(client, "POST", "/v1/sendEdoc", content=raw, headers={"Content-Type": "text/xml"})
    status = rest.t.status(NOI_VU, UBND, doc_id, StatusCode.DONE)
    root = etree.fromstring(status)
    el = root.find(".//{*}Timestamp")
    assert el is not None
    el.text = stamp
    signed = rest.t.signer(NOI_VU).sign_tree(root)
    r = send(rest.client(NOI_VU), "POST", "/v1/sendEdoc", content=etree.tostring(signed),
             headers={"Content-Type": "application/xml"})
    refused(r, 400, "edxml.date_invalid")


def test_dates_with_no_vietnam_time_form_are_value_errors() -> None:
    """The root of the class: every parser of dates raises ValueError, which the edges
    turn into a refusal; `datetime` itself raises OverflowError."""
    from datetime import datetime

    for text in OUT_OF_RANGE:
        with pytest.raises(ValueError, match="out of range"):
            as_vietnam(datetime.fromisoformat(text))
        with pytest.raises(ValueError):
            parse_wire_timestamp(text)


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_since_and_until_out_of_range_are_refused(client: Any, name: str, value: str) -> None:
    refused(send(client, "GET", "/v1/syncReceivedEdocList", params={name: value}),
            422, "api.invalid_request")
    r = _soap(client, f"<a:getReceivedEdocList><a:{name}>{value}</a:{name}>"
                      "</a:getReceivedEdocList>")
    refused(r, 500, "api.invalid_request")


@pytest.mark.parametrize(("path", "param"), [("/v1/getEdoc", "docId"),
                                             ("/v1/trail", "documentId")])
def test_identifiers_with_control_characters_are_refused(client: Any, path: str,
                                                         param: str) -> None:
    for value in ("a\x00b", "\x1b[31m", "x\x7f"):
        refused(send(client, "GET", path, params={param: value}), 422, "api.invalid_request")


NOTICE = {"number": "77", "subject_vi": "Bảo trì", "subject_en": "Maintenance",
          "text_vi": "Tạm dừng.", "text_en": "Stopped."}


@pytest.mark.parametrize("change", [
    {"starts_at": OUT_OF_RANGE[0]},
    {"ends_at": OUT_OF_RANGE[1]},
    {"starts_at": "2026-11-28T22:00:00+07:00", "ends_at": "2026-11-28T14:00:00Z"},
    {"subject_vi": "Bảo\x07trì"},
    {"subject_en": "Main\ntenance"},
    {"text_en": "Stop\x00ped."},
    {"text_vi": "Tạm \x85dừng."},
    {"text_en": "\ufffe"},
])
def test_notices_with_impossible_dates_or_control_characters_are_refused(
    rest: RestNode, change: dict[str, str]
) -> None:
    r = httpx.post(f"{rest.url}/admin/v1/notices", headers=bearer(ADMIN_TOKEN),
                   json={**NOTICE, **change}, timeout=30)
    refused(r, 422, "api.invalid_request")


def test_a_notice_window_mixing_local_and_offset_times_is_read_in_vietnam_time(
    rest: RestNode
) -> None:
    """A time without an offset is Vietnam time (as everywhere on the node): compared with
    one that has an offset, not a TypeError."""
    r = httpx.post(f"{rest.url}/admin/v1/notices", headers=bearer(ADMIN_TOKEN), timeout=30,
                   json={**NOTICE, "starts_at": "2026-11-28T22:00:00",
                         "ends_at": "2026-11-28T16:00:00Z"})
    assert r.status_code == 201, r.text


# --- a client that hangs up mid-body ------------------------------------------------------

class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.getMessage()} {vars(record)}")


def test_a_client_hanging_up_mid_body_is_a_disconnect_not_a_node_fault(
    rest: RestNode, client: Any
) -> None:
    records = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        req = client.prepare("POST", "/v1/sendEdoc", content=b"<edXML>" + b"x" * 5000,
                             headers={"Content-Type": "application/xml"})
        head = (f"POST {req.url.raw_path.decode()} HTTP/1.1\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n")
        port = int(rest.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head.encode("latin-1") + b"<edXML>" + b"x" * 100)
        done = threading.Event()
        for _ in range(500):  # poll with a deadline: the server logs when it notices
            if any("api.client_disconnected" in s for s in records.seen):
                break
            done.wait(0.02)
    finally:
        root.removeHandler(records)
        root.setLevel(old_level)
    assert any("api.client_disconnected" in s for s in records.seen), records.seen[-5:]
    assert not any("node.internal" in s for s in records.seen)
    assert send(client, "GET", "/v1/agencies").status_code == 200  # and the node goes on


def test_read_capped_turns_a_disconnect_into_a_refusal() -> None:
    """The same at the ASGI level: the body stream ends in http.disconnect."""
    import asyncio

    messages: Iterator[dict[str, Any]] = iter([
        {"type": "http.request", "body": b"<edXML>", "more_body": True},
        {"type": "http.disconnect"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    request = Request({"type": "http", "method": "POST", "headers": [
        (b"content-length", b"5000")], "path": "/v1/sendEdoc", "query_string": b""}, receive)
    with pytest.raises(AxisError) as info:
        asyncio.run(read_capped(request, 10_000))
    assert info.value.code is errors.API_CLIENT_DISCONNECTED
    assert "after 7 of 5000 bytes" in info.value.detail
