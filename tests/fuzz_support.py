"""Hypothesis strategies for the edges' input (tests/test_fuzz_edges.py): values that
break parsers (dates with no +07:00 form, huge and foreign numbers, control characters,
markup), multipart bodies, SOAP envelopes and mutations of signed packages' fields.

The strategies are typed where a field is typed (a date field mostly gets date-like
text, so that the run gets past the first check), and arbitrary the rest of the time.
"""

from __future__ import annotations

import base64
import http.client
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from lxml import etree

from axis.auth import signing

# XML 1.0 characters only: lxml refuses to build anything else (and the parser refuses
# it on the wire, which tests/test_reader_fuzz.py covers).
XML_TEXT = st.characters(codec="utf-8", exclude_categories=["Cs"]).filter(
    lambda c: c in "\t\n\r" or (0x20 <= ord(c) <= 0xD7FF) or (0xE000 <= ord(c) <= 0xFFFD)
    or ord(c) >= 0x10000)
ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
LATIN1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                               exclude_characters="\x7f"), max_size=80)

TRICKY = st.sampled_from([
    "", " ", "0", "-1", "-0", "1e400", "NaN", "inf", "9" * 30, "9" * 5000, "٣", "１２",
    "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00", "9999/12/31 23:59:59",
    "0000/00/00", "2026/02/30", "31/12/9999", "2026-11-24T24:00:00", "2026-11-24T09:00:60",
    "2026-11-24T09:00:00+24:00", "2026-11-24T09:00:00.1234567", "<x/>", "&amp;", "]]>",
    "\u202eexe.pdf", "../../x", "a\x00b", "\x1b[2J", "\ud800", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Đ" * 600,
])


# Instants at the edges of what `datetime` holds once converted to +07:00.
EXTREME_DATES = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00",
                 "9999-12-31T23:59:59+07:00", "0001-01-01T00:00:00", "9999/12/31 23:59:59",
                 "0001/01/01", "31/12/9999", "9999-12-31T16:59:59.999999Z",
                 "2026-02-29", "1900-02-29T00:00:00"]


@st.composite
def date_like(draw: st.DrawFn) -> str:
    """Dates and timestamps in the wire forms, with years and offsets at the limits."""
    if draw(st.booleans()):
        return draw(st.sampled_from(EXTREME_DATES))
    year = draw(st.sampled_from([1, 2, 1900, 2026, 9998, 9999])
                | st.integers(0, 10_000))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), \
        draw(st.integers(0, 61))
    offset = draw(st.sampled_from(["", "Z", "+07:00", "-05:00", "+14:00", "-12:00",
                                   "+23:59", "-23:59", "+24:00"]))
    form = draw(st.sampled_from(["ymd", "dmy", "iso", "wire", "date-iso"]))
    if form == "ymd":
        return f"{year:04d}/{month:02d}/{day:02d}"
    if form == "dmy":
        return f"{day:02d}/{month:02d}/{year:04d}"
    if form == "wire":
        return f"{year:04d}/{month:02d}/{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    if form == "date-iso":
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{offset}"


NUMBER_LIKE = st.one_of(st.integers(-(10**20), 10**20).map(str),
                        st.sampled_from(["0", "1", "4", "5", "500", "501", "1000000",
                                         "1000001", "-1", "+1", " 1", "1.5", "0x10"]))


def value(kind: str = "") -> st.SearchStrategy[str]:
    """A value for a field or parameter of `kind` ('date', 'int' or anything else)."""
    if kind == "date":  # the edges first: that is where parsers overflow
        return st.one_of(st.sampled_from(EXTREME_DATES), date_like(), TRICKY, ANY_TEXT)
    typed = NUMBER_LIKE if kind == "int" else st.text(XML_TEXT, min_size=1, max_size=40)
    return st.one_of(typed, typed, TRICKY, ANY_TEXT)


def xml_safe(text: str) -> str:
    """`text` without what XML 1.0 cannot hold (for values put into a tree)."""
    return "".join(c for c in text if c in "\t\n\r" or (0x20 <= ord(c) <= 0xD7FF)
                   or (0xE000 <= ord(c) <= 0xFFFD) or ord(c) >= 0x10000)


# --- multipart ------------------------------------------------------------------------------

BCHARS = st.text(st.sampled_from([*"0123456789abcXYZ'()+_,-./:=? ", "é", "\x7f", '"']),
                 min_size=0, max_size=300)


@st.composite
def multipart_request(draw: st.DrawFn, packages: list[bytes]) -> tuple[bytes, str, dict[str, str],
                                                                       dict[str, str]]:
    """(body, Content-Type, extra headers, query) of a sendEdoc multipart upload: odd
    boundaries, repeated or misnamed parts, odd part headers, bare LF line ends, missing
    or extra delimiters, messageType in the form, the query or a header."""
    if draw(st.sampled_from(["well-formed", "odd"])) == "well-formed":
        return draw(_well_formed_multipart(packages))
    boundary = draw(st.one_of(st.sampled_from(["b0und4ry", "x" * 71, "x" * 257, "x" * 300]),
                              BCHARS))
    quoted = draw(st.booleans())
    ctype = draw(st.sampled_from(["multipart/form-data", "multipart/mixed",
                                  "Multipart/Form-Data", "multipart/related"]))
    ctype += f'; boundary="{boundary}"' if quoted else f"; boundary={boundary}"
    if draw(st.booleans()):
        ctype += draw(st.sampled_from(["; charset=utf-8", "; boundary=other", ";;", "; x"]))
    eol = draw(st.sampled_from([b"\r\n", b"\r\n", b"\n"]))
    delim = b"--" + boundary.encode("utf-8", "replace")
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(["edocFile", "edocFile", "messageType", "EDOCFILE",
                                     "edocfile", "", "other"]) | LATIN1)
        data = draw(st.one_of(st.sampled_from(packages), st.sampled_from(
            [b"edoc", b"status", b"", b"\x00\xff", b"<edXML/>"]), st.binary(max_size=200)))
        disposition = draw(st.sampled_from([
            f'form-data; name="{name}"', f"form-data; name={name}",
            f'form-data; name="{name}"; filename="e.xml"',
            f"form-data; name*=UTF-8''{name}", "form-data", "attachment", ""]))
        headers = [f"Content-Disposition: {disposition}"] if disposition else []
        for extra in draw(st.lists(st.sampled_from([
                "Content-Type: application/xml", "Content-Type: ;;;", "X: " + "y" * 3000,
                "no-colon-here", f'Content-Disposition: form-data; name="{name}"',
                "Content-Transfer-Encoding: base64", ": empty-name"]), max_size=3)):
            headers.append(extra)
        head = eol.join(h.encode("utf-8", "replace") for h in headers)
        parts.append(delim + eol + head + eol + eol + data + eol)
    body = draw(st.sampled_from([b"", b"preamble" + eol])) + b"".join(parts)
    body += draw(st.sampled_from([delim + b"--" + eol, delim + b"--", b"", delim + eol]))
    if draw(st.integers(0, 9)) == 9 and body:
        body = body[: draw(st.integers(1, len(body)))]
    query: dict[str, str] = {}
    extra_headers: dict[str, str] = {}
    if draw(st.integers(0, 4)) == 0:
        query["messageType"] = draw(st.sampled_from(["edoc", "status", "x"]))
    if draw(st.integers(0, 4)) == 0:
        extra_headers["messagetype"] = draw(st.sampled_from(["edoc", "status", "x"]))
    return body, ctype, extra_headers, query


@st.composite
def _well_formed_multipart(draw: st.DrawFn, packages: list[bytes]
                           ) -> tuple[bytes, str, dict[str, str], dict[str, str]]:
    """An upload as a connector sends it: edocFile, maybe messageType, in some order."""
    boundary = draw(st.sampled_from(["b0und4ry", "----WebKitFormBoundary7MA4YWxkTrZu0gW",
                                     "x" * 70, "a'()+_,-./:=?b"]))
    parts = [("edocFile", draw(st.sampled_from(packages)))]
    if draw(st.booleans()):
        parts.append(("messageType", draw(st.sampled_from([b"edoc", b"status", b"x"]))))
    if draw(st.booleans()):
        parts.reverse()
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + data + b"\r\n" for name, data in parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}", {}, {}


# --- SOAP -----------------------------------------------------------------------------------

SOAP_ENV = {"1.1": "http://schemas.xmlsoap.org/soap/envelope/",
            "1.2": "http://www.w3.org/2003/05/soap-envelope"}
SOAP_MEDIA = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
TNS = "urn:vn:gov:langson:axis:soap:1"
SOAP_PARAMS = {"sendEdoc": {"messageType": "", "edoc": "b64"},
               "getReceivedEdocList": {"messageType": "", "since": "date", "until": "date",
                                       "offset": "int", "limit": "int"},
               "getEdoc": {"docId": ""}, "updateStatus": {"docId": "", "status": ""},
               "getTrail": {"documentId": ""}, "getAgencies": {}}


@st.composite
def soap_request(draw: st.DrawFn, packages: list[bytes]) -> tuple[str, bytes, dict[str, str]]:
    """(path, envelope, headers): either version (the media type sometimes disagreeing),
    Header blocks with mustUnderstand, 0–2 Bodies, known and unknown operations with
    known, unknown, repeated and nested parameters."""
    version = draw(st.sampled_from(["1.1", "1.2"]))
    if draw(st.sampled_from(["well-formed", "odd"])) == "well-formed":
        return draw(_well_formed_soap(version, packages))
    ns = SOAP_ENV[draw(st.sampled_from([version, version, version, "1.1", "1.2"]))]
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"s": ns, "a": TNS})
    if draw(st.booleans()):
        header = etree.SubElement(env, f"{{{ns}}}Header")
        for _ in range(draw(st.integers(0, 2))):
            block = etree.SubElement(header, f"{{{TNS}}}block")
            must = draw(st.sampled_from(["", "0", "1", "true", "false", " 1 "]))
            if must:
                block.set(f"{{{ns}}}mustUnderstand", must)
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        body = etree.SubElement(env, f"{{{ns}}}Body")
        for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
            op_name = draw(st.sampled_from(sorted(SOAP_PARAMS)) | st.sampled_from(
                ["sendEdocResponse", "Fault", "x"]))
            op_ns = draw(st.sampled_from([TNS, TNS, TNS, "urn:other"]))
            op = etree.SubElement(body, f"{{{op_ns}}}{op_name}")
            params = SOAP_PARAMS.get(op_name, {})
            names = [*params, "unknown"]
            for _ in range(draw(st.integers(0, 4))):
                pname = draw(st.sampled_from(names))
                kind = params.get(pname, "")
                el = etree.SubElement(op, f"{{{TNS}}}{pname}")
                if kind == "b64":
                    raw = draw(st.sampled_from(packages) | st.binary(max_size=100))
                    text = base64.b64encode(raw).decode()
                    el.text = draw(st.sampled_from([text, text[:-1], " " + text, "!!"]))
                else:
                    el.text = xml_safe(draw(value(kind)))
                if draw(st.integers(0, 9)) == 0:
                    etree.SubElement(el, f"{{{TNS}}}nested").text = "x"
                if draw(st.integers(0, 9)) == 0:
                    el.append(etree.Comment("c"))
    xml = etree.tostring(env, xml_declaration=draw(st.booleans()), encoding="utf-8")
    if draw(st.integers(0, 9)) == 9:
        xml = xml[: draw(st.integers(1, len(xml)))]
    media = SOAP_MEDIA[version]
    headers = {"Content-Type": draw(st.sampled_from([media, media, media, "text/plain",
                                                     media + '; action="x"']))}
    if version == "1.1" and draw(st.booleans()):
        headers["SOAPAction"] = draw(st.sampled_from(['""', f'"{TNS}#getAgencies"', "x"]))
    path = draw(st.sampled_from(["/soap", "/soap/11", "/soap/12"]))
    return path, xml, headers


@st.composite
def _well_formed_soap(draw: st.DrawFn, version: str, packages: list[bytes]
                      ) -> tuple[str, bytes, dict[str, str]]:
    """One known operation with its own parameters, each once, values typed or not."""
    ns = SOAP_ENV[version]
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"s": ns, "a": TNS})
    body = etree.SubElement(env, f"{{{ns}}}Body")
    op_name = draw(st.sampled_from(sorted(SOAP_PARAMS)))
    op = etree.SubElement(body, f"{{{TNS}}}{op_name}")
    params = SOAP_PARAMS[op_name]
    for pname in draw(st.lists(st.sampled_from(sorted(params)), unique=True)) if params else []:
        el = etree.SubElement(op, f"{{{TNS}}}{pname}")
        if params[pname] == "b64":
            el.text = base64.b64encode(draw(st.sampled_from(packages))).decode()
        elif pname == "messageType":
            el.text = xml_safe(draw(st.sampled_from(["edoc", "status"]) | value("")))
        elif pname == "status":
            el.text = xml_safe(draw(st.sampled_from(["processing", "done", "fail"]) | value("")))
        else:
            el.text = xml_safe(draw(value(params[pname])))
    path = "/soap/11" if version == "1.1" else "/soap/12"
    return path, etree.tostring(env, encoding="utf-8"), {"Content-Type": SOAP_MEDIA[version]}


# --- signed packages --------------------------------------------------------------------------

DATE_FIELDS = {"PromulgationDate", "Timestamp", "DueDate", "ResolvedDate"}
INT_FIELDS = {"Priority", "StatusCode", "BussinessDocType", "SteeringType", "Direction",
              "PageAmount", "PromulgationAmount", "Type", "DocumentType", "Paper",
              "DocumentInfo", "DocumentReceiver", "ReceiverType"}


def header_leaves(root: etree._Element) -> list[etree._Element]:
    """Every text field of the header a producer fills (signature aside)."""
    header = root.find("{*}edXMLEnvelope/{*}edXMLHeader")
    assert header is not None
    return [el for el in header.iter("{*}*") if len(el) == 0
            and etree.QName(el).namespace != "http://www.w3.org/2000/09/xmldsig#"]


@st.composite
def field_mutations(draw: st.DrawFn, names: list[str]) -> list[tuple[int, str]]:
    """(field index, operation): 1 to 3 fields set, repeated or removed; the typed fields
    (dates, numbers) drawn half of the time, since their parsers are where inputs break."""
    typed = [i for i, n in enumerate(names) if n in DATE_FIELDS or n in INT_FIELDS]
    out = []
    for _ in range(draw(st.integers(1, 3))):
        use_typed = bool(typed) and draw(st.booleans())
        i = draw(st.sampled_from(typed if use_typed else list(range(len(names)))))
        out.append((i, draw(st.sampled_from(["set", "set", "set", "set", "repeat", "remove"]))))
    return out


@dataclass
class Tally:
    """Requests and statuses per operation, for the report (printed at the end)."""

    counts: dict[str, Counter[int]] = field(default_factory=dict)

    def add(self, operation: str, status: int) -> None:
        self.counts.setdefault(operation, Counter())[status] += 1

    def lines(self) -> list[str]:
        return [f"{op}: {sum(c.values())} requests, statuses {dict(sorted(c.items()))}"
                for op, c in sorted(self.counts.items())]


def no_node_fault(status: int, body: bytes, where: Any) -> None:
    """No 5xx, except SOAP 1.1's 500 for every fault, whose code must then not be the
    node's."""
    assert b"node.internal" not in body, (where, body[:800])
    if status >= 500:
        assert b"Fault" in body and b"<axis:code>" in body, (where, status, body[:800])
        code = body.split(b"<axis:code>", 1)[1].split(b"<", 1)[0]
        assert not code.startswith(b"node."), (where, code)


# --- raw requests --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RawResponse:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def raw_request(base_url: str, method: str, target: str,
                headers: list[tuple[str, str | bytes]], body: bytes = b"") -> RawResponse:
    """A request exactly as given (http.client: header values as bytes, leading blanks,
    repeats, non-ASCII boundaries), which httpx would refuse to send."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value.encode("latin-1", "replace")
                           if isinstance(value, str) else value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return RawResponse(r.status, r.read())
    finally:
        conn.close()


def signed_headers(client: Any, method: str, target: str, body: bytes
                   ) -> list[tuple[str, str | bytes]]:
    """The three authentication headers of an AgencyClient for this request."""
    ts = client._timestamp()
    return [(signing.SYSTEM_ID_HEADER, client.system_id), (signing.TIMESTAMP_HEADER, ts),
            (signing.SIGNATURE_HEADER,
             signing.sign_request(client._secret, method, target, ts, body))]
