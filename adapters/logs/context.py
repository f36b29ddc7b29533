"""What the access line of the current HTTP request says, filled in as the request goes.

The access middleware (adapters/rest/access.py) opens a `RequestInfo` for each request; the
edges note into it what only they know (the authenticated agency, the SOAP operation, the
code and error id of a refusal). It is one mutable object held in a context variable: the
thread pool that runs sync routes and the exception handlers see the same object, so what
they note reaches the access line even where a context variable set there would not.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(slots=True)
class RequestInfo:
    request_id: str
    system_id: str = ""  # X-Axis-System-Id as claimed (before authentication)
    agency: str = ""  # the authenticated agency
    operation: str = ""
    code: str = ""  # the refusal's or fault's code
    error_id: str = ""


_current: ContextVar[RequestInfo | None] = ContextVar("axis_request", default=None)


def begin(info: RequestInfo) -> Token[RequestInfo | None]:
    return _current.set(info)


def end(token: Token[RequestInfo | None]) -> None:
    _current.reset(token)


def current() -> RequestInfo | None:
    return _current.get()


def note(*, agency: str | None = None, system_id: str | None = None,
         operation: str | None = None, code: str | None = None,
         error_id: str | None = None) -> None:
    """Record on the current request (nothing outside a request)."""
    info = _current.get()
    if info is None:
        return
    if agency is not None:
        info.agency = agency
    if system_id is not None:
        info.system_id = system_id
    if operation is not None:
        info.operation = operation
    if code is not None:
        info.code = code
    if error_id is not None:
        info.error_id = error_id
