"""The SOAP endpoint on the agency API's server: POST /soap, /soap/11, /soap/12 and the
WSDL at GET /soap?wsdl (docs/soap.md).

A thin edge like the REST routes: authenticate with the REST dependency itself (same
headers, same canonical string, same gate: deny by default, replay, revocation, rate
limit), read the envelope, hand the operation element to `operations`, and turn every
failure into a Fault carrying the Axis code, both messages and the error id.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from lxml import etree
from starlette.concurrency import run_in_threadpool

from adapters.logs import context, get_logger
from adapters.node import Node
from adapters.rest.auth import AgencyAuth, authenticated
from adapters.rest.errors import AUTH_CHALLENGE
from adapters.soap import envelope
from adapters.soap.envelope import TNS, SoapVersion
from adapters.soap.operations import OPERATIONS, fields_of
from axis import errors
from axis.auth.gate import RateLimited
from axis.errors import AxisError, Code, Finding
from axis.packaged import WSDL_FILE

log = get_logger("axis.soap")

WSDL_PATH = WSDL_FILE
_WSDL_NS = {"soap": "http://schemas.xmlsoap.org/wsdl/soap/",
            "soap12": "http://schemas.xmlsoap.org/wsdl/soap12/"}
_PORT_PATHS = (("soap", "/soap/11"), ("soap12", "/soap/12"))


class WsdlTemplate:
    """axis/_data/schemas/axis.wsdl, read once; each GET gets a copy naming the node's own address
    (as the client reached it), so one file serves every deployment."""

    def __init__(self, path: Path = WSDL_PATH) -> None:
        # Our own file, but parsed with entities and network off all the same.
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self._tree = etree.parse(str(path), parser)

    def render(self, base_url: str) -> bytes:
        root = etree.fromstring(etree.tostring(self._tree))
        for prefix, path in _PORT_PATHS:
            for address in root.iterfind(f".//{prefix}:address", _WSDL_NS):
                address.set("location", base_url.rstrip("/") + path)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _fault_response(version: SoapVersion, code: Code, *, error_id: str | None = None,
                    detail: str = "", findings: tuple[Finding, ...] = (),
                    retry_after: int | None = None) -> Response:
    eid = error_id or str(uuid.uuid4())
    # The same log line as a REST refusal: an error id quoted on the phone is found the
    # same way whichever edge refused.
    refused = log.error if code.http_status >= 500 else log.info
    refused("refused", code=code.id, error_id=eid, status=code.http_status,
            soap=version.name, detail=detail)
    context.note(code=code.id, error_id=eid)
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if code.http_status == 401:
        headers["WWW-Authenticate"] = AUTH_CHALLENGE
    if code.http_status == 503:
        headers["Retry-After"] = "5"
    body = envelope.fault(version, code, eid, detail=detail, findings=findings,
                          retry_after=retry_after)
    return Response(body, status_code=envelope.http_status(version, code),
                    media_type=version.content_type, headers=headers)


def _operation_name(op: etree._Element, version: SoapVersion, request: Request) -> str:
    name = etree.QName(op).localname
    if name not in OPERATIONS:
        raise errors.API_INVALID_REQUEST.error(
            f"no operation {name!r}; see {request.url.path}?wsdl")
    action = envelope.declared_action(version, request.headers.get("content-type", ""),
                                      request.headers.get("soapaction"))
    # Dispatch is by the body (document/literal); a declared action that disagrees means
    # the client's stub and its message are out of step: better refused than guessed.
    if action and action not in (f"{TNS}#{name}", name):
        raise errors.API_INVALID_REQUEST.error(f"action {action!r} but body {name}")
    return name


async def _call(request: Request, version: SoapVersion) -> Response:
    envelope.check_media(request.headers.get("content-type", ""), version)
    auth = await authenticated(request)  # the REST dependency: one gate for both edges
    node: Node = request.app.state.node
    agency_auth: AgencyAuth = request.app.state.agency_auth
    op, lifted = envelope.read_operation(auth.body.read(), version, agency_auth.body_cap,
                                         node.settings.edxml)
    name = _operation_name(op, version, request)
    context.note(operation=f"soap:{name}")
    func, allowed = OPERATIONS[name]
    params = fields_of(op, allowed)
    del op  # the envelope's tree goes before the operation runs
    if lifted is not None:
        # A large `edoc` was left in the body's bytes (safexml.parse_lifted): one str of
        # it here, then the body goes too (issue 9).
        for key, value in params.items():
            if value in lifted.spans:
                params[key] = str(lifted.run(value), "ascii")
        del lifted
    answer = await run_in_threadpool(func, node.agency, auth.caller, params)
    return Response(envelope.response(version, answer), media_type=version.content_type)


def mount(app: FastAPI) -> None:
    """Add the SOAP routes to the agency API's app (needs `app.state.node` and
    `app.state.agency_auth`, set by `create_app` when it has a node)."""
    template = WsdlTemplate()

    async def soap(request: Request) -> Response:
        if request.method == "GET":
            return Response(template.render(str(request.base_url)), media_type="text/xml")
        version = envelope.version_of(request.headers.get("content-type", ""),
                                      request.url.path)
        context.note(operation="soap")  # soap:<name> once the body names it
        try:
            return await _call(request, version)
        except RateLimited as exc:
            return _fault_response(version, exc.code, error_id=exc.error_id,
                                   detail=exc.detail, retry_after=exc.retry_after)
        except AxisError as exc:
            return _fault_response(version, exc.code, error_id=exc.error_id,
                                   detail=exc.detail, findings=exc.findings)
        except Exception as exc:  # nothing leaves as a bare traceback, as in REST
            eid = str(uuid.uuid4())
            log.error("node.internal", error_id=eid, method="POST", path=request.url.path,
                      exc_info=exc)
            return _fault_response(version, errors.INTERNAL, error_id=eid)

    for path in ("/soap", "/soap/11", "/soap/12"):
        app.add_route(path, soap, methods=["GET", "POST"], include_in_schema=False)
