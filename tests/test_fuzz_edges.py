"""Fuzzing every edge of a real node (uvicorn on 127.0.0.1): no input gets a 5xx.

Hypothesis strategies of our own (tests/fuzz_support.py) beside the schemathesis run
(tests/test_rest_schemathesis.py): multipart uploads (boundaries, repeated and misnamed
parts, odd part headers, truncation), the three authentication headers, the query
parameters of every agency operation, updateStatus bodies, SOAP envelopes of both
versions (which must answer with a SOAP Fault that is never `node.internal`), the fields
of signed packages (each re-signed with the sender's real key, so that it passes the
signature and reaches every parser and rule after it), and maintenance notices.

Every request is signed like an agency system's (or carries the admin token), so that it
reaches the operation itself. `make test` runs a fixed, reproducible set; a deeper hunt:
AXIS_FUZZ_EXAMPLES=1000 AXIS_FUZZ_RANDOM=1 pytest -s tests/test_fuzz_edges.py
(with -s the figures per operation are printed at the end).
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import ADMIN_TOKEN, bearer, start
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, UBND
from fuzz_support import (
    DATE_FIELDS,
    INT_FIELDS,
    LATIN1,
    RawResponse,
    Tally,
    field_mutations,
    header_leaves,
    multipart_request,
    no_node_fault,
    raw_request,
    signed_headers,
    soap_request,
    value,
    xml_safe,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from rest_support import RestNode, serve

from adapters.client.agency import AgencyClient
from axis.auth import signing
from axis.edxml.model import StatusCode
from axis.settings import RestSettings

EXAMPLES = int(os.environ.get("AXIS_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize=os.environ.get("AXIS_FUZZ_RANDOM") != "1",
                suppress_health_check=list(HealthCheck))
TALLY = Tally()


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory, pki_dirs: tuple[Path, Path]
         ) -> Iterator[RestNode]:
    t = start(tmp_path_factory.mktemp("node"), *pki_dirs)
    with serve(t, RestSettings(rate_per_minute=1_000_000, burst=1_000_000)) as r:
        yield r
    t.node.close()
    print("\nfuzz figures (tests/test_fuzz_edges.py):\n  " + "\n  ".join(TALLY.lines()))


@pytest.fixture(scope="module")
def caller(rest: RestNode) -> Iterator[AgencyClient]:
    """NOI_VU's system, which also received documents (its statuses can be accepted)."""
    c = rest.client(NOI_VU)
    ubnd = rest.client(UBND)
    for n in range(3):
        ubnd.send(rest.t.document(UBND, (NOI_VU, TAI_CHINH), 700 + n)[1])
    ubnd.close()
    rest.t.deliver_all()
    yield c
    c.close()


@pytest.fixture(scope="module")
def packages(rest: RestNode) -> list[bytes]:
    """Valid packages NOI_VU may send: a document and a status about a received one."""
    doc = rest.t.document(NOI_VU, (UBND, KE_HOACH), 800)[1]
    received = f"{UBND},{rest.t.clock.now():%Y/%m/%d},700/UBND-VP"
    status = rest.t.status(NOI_VU, UBND, received, StatusCode.DONE)
    return [doc, status]


def call(client: AgencyClient, op: str, method: str, path: str, **kwargs: Any
         ) -> httpx.Response:
    req = client.prepare(method, path, **kwargs)
    r = client._http.send(req)
    TALLY.add(op, r.status_code)
    return r


def ok(r: httpx.Response | RawResponse, where: Any) -> None:
    no_node_fault(r.status_code, r.content, where)
    assert r.status_code < 500, (where, r.status_code, r.text[:800])


# --- REST: multipart, auth headers, query parameters, bodies ---------------------------------

def test_multipart_uploads(rest: RestNode, caller: AgencyClient, packages: list[bytes]
                           ) -> None:
    @FUZZ
    @given(multipart_request(packages))
    def run(req: tuple[bytes, str, dict[str, str], dict[str, str]]) -> None:
        body, ctype, headers, query = req
        target = "/v1/sendEdoc" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        r = raw_request(rest.url, "POST", target, [
            *signed_headers(caller, "POST", target, body),
            ("Content-Type", ctype.encode("utf-8")), *headers.items()], body)
        TALLY.add("REST POST /v1/sendEdoc (multipart)", r.status_code)
        ok(r, (ctype, headers, query, body[:300]))

    run()


HEADER_VALUES = {
    signing.SYSTEM_ID_HEADER: st.one_of(LATIN1, st.sampled_from(["", "a" * 200, "ÿ"])),
    signing.TIMESTAMP_HEADER: st.one_of(LATIN1, st.sampled_from(
        ["1e400", "NaN", "-1", "9" * 400, "1795500000." + "1" * 400, "0", " 1 "])),
    signing.SIGNATURE_HEADER: st.one_of(LATIN1, st.text("0123456789abcdefABCDEF", min_size=63,
                                                        max_size=65)),
}


def test_authentication_headers(rest: RestNode, caller: AgencyClient) -> None:
    """Each of the three headers kept (signed), dropped, replaced, doubled, or padded."""
    @FUZZ
    @given(st.lists(st.tuples(st.sampled_from(sorted(HEADER_VALUES)),
                              st.sampled_from(["drop", "replace", "double", "pad", "case"])),
                    max_size=3), st.data())
    def run(changes: list[tuple[str, str]], data: st.DataObject) -> None:
        pairs = signed_headers(caller, "GET", "/v1/agencies", b"")
        for name, how in changes:
            current = dict(pairs).get(name, "")
            current = current.decode("latin-1") if isinstance(current, bytes) else current
            pairs = [(k, v) for k, v in pairs if k.lower() != name.lower()]
            if how == "replace":
                pairs.append((name, data.draw(HEADER_VALUES[name])))
            elif how == "double":
                pairs += [(name, current), (name, data.draw(HEADER_VALUES[name]))]
            elif how == "pad":
                pairs.append((name, f"  {current}\t"))
            elif how == "case":
                pairs.append((name.upper(), current.upper()))
        r = raw_request(rest.url, "GET", "/v1/agencies", pairs)
        TALLY.add("REST GET /v1/agencies (auth headers)", r.status_code)
        ok(r, changes)

    run()


QUERY = {
    "/v1/syncReceivedEdocList": {"messageType": "", "since": "date", "until": "date",
                                 "offset": "int", "limit": "int"},
    "/v1/getEdoc": {"docId": ""},
    "/v1/trail": {"documentId": ""},
    "/v1/agencies": {},
}


@pytest.mark.parametrize("path", sorted(QUERY))
def test_query_parameters(caller: AgencyClient, path: str) -> None:
    names = [*sorted(QUERY[path]), "extra"]

    pair = st.sampled_from(names).flatmap(
        lambda n: st.tuples(st.just(n), value(QUERY[path].get(n, ""))))

    @FUZZ  # each name once mostly (repeats are refused first: tests/test_edge_input.py)
    @given(st.lists(pair, max_size=5, unique_by=lambda p: p[0]) | st.lists(pair, max_size=5))
    def run(params: list[tuple[str, str]]) -> None:
        clean = [(k, v.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
                 for k, v in params]
        r = call(caller, f"REST GET {path}", "GET", path, params=clean)
        ok(r, clean)

    run()


def test_update_status_bodies(caller: AgencyClient) -> None:
    @FUZZ
    @given(st.one_of(
        st.fixed_dictionaries({"docId": value(""), "status": st.sampled_from(
            ["processing", "done", "fail", "x", ""])}).map(json.dumps),
        st.dictionaries(st.text(max_size=10), value(""), max_size=4).map(json.dumps),
        st.binary(max_size=100).map(lambda b: b.decode("latin-1"))))
    def run(body: str) -> None:
        r = call(caller, "REST POST /v1/updateStatus", "POST", "/v1/updateStatus",
                 content=body.encode("utf-8", "surrogatepass"),
                 headers={"Content-Type": "application/json"})
        ok(r, body[:200])

    run()


# --- SOAP ---------------------------------------------------------------------------------------

def test_soap_envelopes(caller: AgencyClient, packages: list[bytes]) -> None:
    @FUZZ
    @given(soap_request(packages))
    def run(req: tuple[str, bytes, dict[str, str]]) -> None:
        path, envelope, headers = req
        r = call(caller, f"SOAP POST {path}", "POST", path, content=envelope, headers=headers)
        no_node_fault(r.status_code, r.content, (path, headers, envelope[:500]))
        if r.status_code != 200:
            assert b"Fault" in r.content and b"<axis:code>" in r.content, r.content[:500]

    run()


# --- signed packages: every parsed field ----------------------------------------------------

def _bases(rest: RestNode, fixtures: Path) -> list[bytes]:
    """Real packages (documents and statuses), sent by NOI_VU to agencies it knows."""
    out = []
    for name in ("edoc-2019-small.edxml", "edoc-business-first-zipped.edxml",
                 "status-02.edxml", "status-05.edxml"):
        root = etree.fromstring((fixtures / name).read_bytes())
        for el in root.iterfind(".//{*}From/{*}OrganId"):
            el.text = NOI_VU
        for el in root.iterfind(".//{*}To/{*}OrganId"):
            el.text = UBND
        for el in root.iterfind(".//{*}ResponseFor/{*}OrganId"):
            el.text = UBND
        for el in root.iterfind(".//{*}ResponseFor/{*}DocumentId"):
            el.text = f"{UBND},{rest.t.clock.now():%Y/%m/%d},701/UBND-VP"
        out.append(etree.tostring(root))
    return out


def test_fields_of_signed_packages(rest: RestNode, caller: AgencyClient,
                                   fixtures_dir: Path) -> None:
    bases = _bases(rest, fixtures_dir)
    signer = rest.t.signer(NOI_VU)

    @FUZZ
    @given(st.sampled_from(range(len(bases))), st.data())
    def run(which: int, data: st.DataObject) -> None:
        root = etree.fromstring(bases[which])
        leaves = header_leaves(root)
        done = []
        names = [etree.QName(el).localname for el in leaves]
        for i, op in data.draw(field_mutations(names)):
            el = leaves[i]
            name = etree.QName(el).localname
            kind = "date" if name in DATE_FIELDS else "int" if name in INT_FIELDS else ""
            if op == "set":
                el.text = xml_safe(data.draw(value(kind)))
            elif op == "repeat" and el.getparent() is not None:
                el.addnext(etree.fromstring(etree.tostring(el)))
            elif op == "remove" and (parent := el.getparent()) is not None:
                parent.remove(el)
            done.append((name, op, el.text))
        try:
            raw = etree.tostring(signer.sign_tree(root))
        except Exception:  # the signer refuses what it cannot sign: nothing to send
            return
        r = call(caller, "REST POST /v1/sendEdoc (signed package fields)", "POST",
                 "/v1/sendEdoc", content=raw, headers={"Content-Type": "application/xml"})
        ok(r, done)

    run()


# --- admin: notices ----------------------------------------------------------------------------

def test_maintenance_notices(rest: RestNode) -> None:
    http = httpx.Client(base_url=rest.url, timeout=60, headers=bearer(ADMIN_TOKEN))
    text = st.one_of(value(""), st.text(max_size=300))
    number = st.integers(0, 10**12).map(str) | value("int")

    @FUZZ
    @given(st.fixed_dictionaries(
        {"number": number, "subject_vi": text, "subject_en": text, "text_vi": text,
         "text_en": text},
        optional={"starts_at": value("date"), "ends_at": value("date"), "notation": text,
                  "urgent": st.booleans() | value(""), "reason": text}))
    def run(notice: dict[str, Any]) -> None:
        body = json.dumps(notice).encode("utf-8", "surrogatepass")
        r = http.post("/admin/v1/notices", content=body,
                      headers={"Content-Type": "application/json"})
        TALLY.add("ADMIN POST /admin/v1/notices", r.status_code)
        ok(r, notice)

    try:
        run()
    finally:
        http.close()
