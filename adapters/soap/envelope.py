"""SOAP 1.1 and 1.2 envelopes: which version a request speaks, reading its body, writing
responses and faults. Transport only: no operation knows which version carried it.

Requests go through the node's hardened parser (`axis.edxml.safexml`: no DOCTYPE, no
entities, no network, bounded size, depth and element count): an envelope is attacker
input exactly like a package, and one parser means one set of defences to keep right.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from axis import errors
from axis.edxml import safexml
from axis.errors import AxisError, Code, Fault, Finding
from axis.settings import EdxmlSettings

TNS = "urn:vn:gov:langson:axis:soap:1"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_ENVELOPE_DEPTH = 12  # Envelope/Body/operation/item/field: anything deeper is not ours


@dataclass(frozen=True, slots=True)
class SoapVersion:
    name: str
    env: str  # the envelope namespace
    media_type: str
    sender: str  # the fault code of the sender's side …
    receiver: str  # … and of the node's

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"

    def q(self, local: str) -> str:
        return f"{{{self.env}}}{local}"


SOAP11 = SoapVersion("1.1", "http://schemas.xmlsoap.org/soap/envelope/", "text/xml",
                     "soap:Client", "soap:Server")
SOAP12 = SoapVersion("1.2", "http://www.w3.org/2003/05/soap-envelope",
                     "application/soap+xml", "soap:Sender", "soap:Receiver")


def _media(content_type: str) -> tuple[str, dict[str, str]]:
    media, _, rest = content_type.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, eq, value = part.partition("=")
        if eq:
            params[key.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def version_of(content_type: str, path: str) -> SoapVersion:
    """The version by the media type (what SOAP itself defines); when the media type is
    neither, the port's version, so that the refusal is at least readable by its client."""
    media, _ = _media(content_type)
    if media == SOAP12.media_type:
        return SOAP12
    if media == SOAP11.media_type:
        return SOAP11
    return SOAP12 if path.rstrip("/").endswith("/12") else SOAP11


def check_media(content_type: str, version: SoapVersion) -> None:
    media, _ = _media(content_type)
    if media != version.media_type:
        raise errors.API_INVALID_REQUEST.error(
            f"Content-Type {media or 'missing'}: SOAP 1.1 is text/xml, "
            "SOAP 1.2 application/soap+xml")


def declared_action(version: SoapVersion, content_type: str, soap_action: str | None) -> str:
    """The action the client declared: the SOAPAction header (1.1), the Content-Type's
    action parameter (1.2); empty when none."""
    if version is SOAP11:
        return (soap_action or "").strip().strip('"')
    return _media(content_type)[1].get("action", "")


def read_operation(body: bytes, version: SoapVersion, cap: int,
                   limits: EdxmlSettings) -> tuple[etree._Element, safexml.Lifted | None]:
    """The operation element: the first element child of the Body, in the Axis namespace;
    with what the parser left in `body` (a large `edoc`'s base64, issue 9)."""
    bounded = limits.model_copy(update={"max_package_bytes": cap,
                                        "max_depth": min(limits.max_depth, _ENVELOPE_DEPTH)})
    try:
        root, lifted = safexml.parse_lifted(body, bounded, element=(TNS, "edoc"))
    except AxisError as exc:
        if exc.code is errors.TOO_LARGE:
            raise
        # The package codes (edxml.*) would tell the caller its edXML is wrong: it is the
        # envelope around it.
        raise errors.API_INVALID_REQUEST.error(
            f"SOAP envelope: {exc.code.id}: {exc.detail}") from exc
    other = SOAP12 if version is SOAP11 else SOAP11
    if root.tag == other.q("Envelope"):
        raise errors.API_INVALID_REQUEST.error(
            f"a SOAP {other.name} envelope sent as SOAP {version.name} "
            f"(Content-Type {version.media_type})")
    if root.tag != version.q("Envelope"):
        raise errors.API_INVALID_REQUEST.error(f"not a SOAP {version.name} Envelope")
    headers = root.findall(version.q("Header"))
    bodies = root.findall(version.q("Body"))
    if len(headers) > 1 or len(bodies) > 1:
        # One Header and one Body (SOAP 1.1 §4, 1.2 part 1 §5): which Body to read would
        # otherwise be the node's guess.
        raise errors.API_DUPLICATE_PARAMETER.error(
            f"{len(headers)} Header and {len(bodies)} Body elements in the Envelope")
    for header in headers:
        for block in header:
            must = block.get(version.q("mustUnderstand"), "").strip()
            if must in ("1", "true"):
                # We understand no header block (authentication is HTTP headers): a block
                # the client requires us to honour must not be silently ignored.
                raise errors.API_INVALID_REQUEST.error(
                    f"header block {block.tag} with mustUnderstand is not supported")
    if not bodies:
        raise errors.API_INVALID_REQUEST.error("Envelope without Body")
    soap_body = bodies[0]
    elements = list(soap_body.iterchildren("*"))
    if len(elements) != 1 or etree.QName(elements[0]).namespace != TNS:
        raise errors.API_INVALID_REQUEST.error(
            f"the Body must hold one operation element in {TNS}")
    return elements[0], lifted


def _envelope(version: SoapVersion) -> tuple[etree._Element, etree._Element]:
    env = etree.Element(version.q("Envelope"), nsmap={"soap": version.env, "axis": TNS})
    return env, etree.SubElement(env, version.q("Body"))


def _bytes(env: etree._Element) -> bytes:
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def response(version: SoapVersion, payload: etree._Element) -> bytes:
    env, body = _envelope(version)
    body.append(payload)
    return _bytes(env)


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, f"{{{TNS}}}{name}").text = text


def error_element(code: Code, error_id: str, detail: str, findings: tuple[Finding, ...],
                  retry_after: int | None) -> etree._Element:
    """`axis:error`: the REST error body (adapters/rest/errors.py) as XML."""
    err = etree.Element(f"{{{TNS}}}error", nsmap={"axis": TNS})
    for name, text in (("code", code.id), ("message_vi", code.vi), ("message_en", code.en),
                       ("error_id", error_id), ("detail", detail)):
        _sub(err, name, text)
    if retry_after is not None:
        _sub(err, "retry_after", str(retry_after))
    for f in findings:
        item = etree.SubElement(err, f"{{{TNS}}}finding")
        _sub(item, "code", f.code.id)
        _sub(item, "severity", f.code.severity.value)
        _sub(item, "path", f.path)
        _sub(item, "line", str(f.line) if f.line is not None else None)
        _sub(item, "detail", f.detail)
        _sub(item, "message_vi", f.code.vi)
        _sub(item, "message_en", f.code.en)
    return err


def fault(version: SoapVersion, code: Code, error_id: str, *, detail: str = "",
          findings: tuple[Finding, ...] = (), retry_after: int | None = None) -> bytes:
    """A Fault whose code says whose fault it is and whose detail carries the Axis code,
    both messages and the error id."""
    side = version.sender if code.fault is Fault.SENDER else version.receiver
    env, body = _envelope(version)
    f = etree.SubElement(body, version.q("Fault"))
    error = error_element(code, error_id, detail, findings, retry_after)
    if version is SOAP11:
        etree.SubElement(f, "faultcode").text = side
        etree.SubElement(f, "faultstring", {f"{{{XML_NS}}}lang": "en"}).text = code.en
        etree.SubElement(f, "detail").append(error)
    else:
        value = etree.SubElement(etree.SubElement(f, version.q("Code")), version.q("Value"))
        value.text = side
        reason = etree.SubElement(f, version.q("Reason"))
        # English first: clients that show one Reason (zeep among them) show the first.
        for lang, text in (("en", code.en), ("vi", code.vi)):
            etree.SubElement(reason, version.q("Text"), {f"{{{XML_NS}}}lang": lang}).text = text
        etree.SubElement(f, version.q("Detail")).append(error)
    return _bytes(env)


def http_status(version: SoapVersion, code: Code) -> int:
    """500 for every SOAP 1.1 fault (SOAP 1.1 §6.2); for SOAP 1.2, 400 for the sender's
    and 500 for the node's (SOAP 1.2 part 2, §7.5.2). A rate-limit refusal keeps 429 in
    both, so that HTTP-level clients and proxies back off on Retry-After."""
    if code is errors.AUTH_RATE_LIMITED:
        return 429
    if version is SOAP12 and code.fault is Fault.SENDER:
        return 400
    return 500
