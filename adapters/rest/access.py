"""The access line and the request id: one log line per HTTP request (uvicorn's own access
log is off), and `X-Request-Id` on every response.

The request id is the node's own (a fresh UUID) unless the request comes from a trusted
reverse proxy (`rest.trusted_proxies`) that sent a well-formed `X-Request-Id`: then the
proxy's id is kept, so one id follows the request through both logs. From anyone else the
header is ignored: a client must not be able to choose the id an operator searches by.

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware): the route and the exception
handlers run in this middleware's task, and what they note about the request
(adapters/logs/context.py: agency, operation, code, error id) reaches the line. An
exception nothing else handled is answered here as `node.internal` with its error id and
traceback in the log, so that even that answer carries the request id.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.logs import context, get_logger
from adapters.rest import errors as rest_errors

log = get_logger("axis.access")

HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SYSTEM_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, as claimed


class AccessLog:
    def __init__(self, app: ASGIApp, *,
                 trusted_proxies: Sequence[IPv4Network | IPv6Network] = ()) -> None:
        self.app = app
        self.trusted = tuple(trusted_proxies)

    def request_id(self, scope: Scope, headers: Headers) -> str:
        given = headers.get(HEADER.lower(), "")
        if given and _REQUEST_ID.match(given) and self._from_trusted(scope):
            return given
        return uuid.uuid4().hex

    def _from_trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.trusted:
            return False
        try:
            peer = ip_address(client[0])
        except ValueError:  # a unix socket, a test transport: not an address
            return False
        return any(peer in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        rid = self.request_id(scope, headers)
        claimed = headers.get("x-axis-system-id", "")
        info = context.RequestInfo(rid, system_id=claimed if _SYSTEM_ID.match(claimed) else "")
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        token = context.begin(info)
        try:
            with structlog.contextvars.bound_contextvars(request_id=rid):
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception as exc:
                    if status:  # the answer has begun: the server can only close it
                        eid = str(uuid.uuid4())
                        context.note(code="node.internal", error_id=eid)
                        log.error("node.internal", error_id=eid, exc_info=exc)
                        raise
                    answer = rest_errors.internal_error(scope["method"], scope["path"], exc)
                    await answer(scope, receive, send_with_id)
                finally:
                    self._line(scope, info, status, started)
        finally:
            context.end(token)

    @staticmethod
    def _line(scope: Scope, info: context.RequestInfo, status: int, started: float) -> None:
        route = scope.get("route")
        operation = info.operation or str(getattr(route, "path", "") or "")
        client = scope.get("client")
        log.info(
            "request", request_id=info.request_id, method=scope["method"], path=scope["path"],
            status=status or None,  # None: the client left before an answer began
            system_id=info.system_id or None, agency=info.agency or None,
            operation=operation or None, code=info.code or None,
            error_id=info.error_id or None,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            client=client[0] if client else None)
