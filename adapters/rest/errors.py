"""Errors as JSON: every refusal carries its code, both messages and an error id.

The HTTP status comes from the code (4xx: the sender's fault, never retried; 5xx: the
node's, retried). The error id is the one the exchange journaled the refusal under when
there is one, a fresh one otherwise, and it goes to the log with the code, so that an
agency quoting it on the phone leads an operator to the line: a `refused` line (INFO for
4xx, ERROR for 5xx) with `code`, `error_id`, `status` and `detail`, and the request's
access line (adapters/rest/access.py) with the same `code` and `error_id`.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.logs import context, get_logger
from axis import errors
from axis.auth.gate import RateLimited
from axis.errors import AxisError, Code, Finding

log = get_logger("axis.rest")

AUTH_CHALLENGE = ('AxisHMAC realm="axis", '
                  'headers="X-Axis-System-Id X-Axis-Timestamp X-Axis-Signature"')


class FindingBody(BaseModel):
    code: str
    severity: str
    path: str | None = None
    line: int | None = None
    detail: str = ""
    message_vi: str
    message_en: str


class ErrorBody(BaseModel):
    """A refusal (4xx) or a fault of the node (5xx)."""

    code: str = Field(description="stable dotted code, docs/errors.md")
    message_vi: str
    message_en: str
    error_id: str = Field(description="also in the node's log and journal")
    detail: str = ""
    findings: list[FindingBody] = Field(default_factory=list)


def _finding(f: Finding) -> FindingBody:
    return FindingBody(code=f.code.id, severity=f.code.severity.value, path=f.path,
                       line=f.line, detail=f.detail, message_vi=f.code.vi,
                       message_en=f.code.en)


def body_for(code: Code, error_id: str, detail: str = "",
             findings: tuple[Finding, ...] = ()) -> ErrorBody:
    return ErrorBody(code=code.id, message_vi=code.vi, message_en=code.en, error_id=error_id,
                     detail=detail, findings=[_finding(f) for f in findings])


def respond(code: Code, *, detail: str = "", error_id: str | None = None,
            findings: tuple[Finding, ...] = (), headers: dict[str, str] | None = None,
            ) -> JSONResponse:
    eid = error_id or str(uuid.uuid4())
    refused = log.error if code.http_status >= 500 else log.info
    refused("refused", code=code.id, error_id=eid, status=code.http_status, detail=detail)
    context.note(code=code.id, error_id=eid)
    out = dict(headers or {})
    if code.http_status == 401:
        out.setdefault("WWW-Authenticate", AUTH_CHALLENGE)
    if code.http_status == 503:
        out.setdefault("Retry-After", "5")  # the node's own transient fault: retry soon
    body = body_for(code, eid, detail, findings)
    return JSONResponse(body.model_dump(), status_code=code.http_status, headers=out)


def from_axis_error(exc: AxisError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return respond(exc.code, detail=exc.detail, error_id=exc.error_id,
                   findings=exc.findings, headers=headers)


def install(app: FastAPI) -> None:
    """One handler per kind of failure; nothing leaves the node as a bare traceback."""

    async def on_axis_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AxisError)
        return from_axis_error(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors())
        return respond(errors.API_INVALID_REQUEST, detail=problems[:2000])

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: errors.API_NOT_FOUND, 405: errors.API_METHOD_NOT_ALLOWED}.get(
            exc.status_code)
        if code is None and exc.status_code < 500:
            # The framework's other refusals (a JSON body that does not parse: 400) are
            # invalid requests like any other: one code, one status.
            code = errors.API_INVALID_REQUEST
        if code is None:
            return _framework_refusal(exc)
        return respond(code, detail=str(exc.detail or ""), headers=dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request.method, request.url.path, exc)

    app.add_exception_handler(AxisError, on_axis_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def internal_error(method: str, path: str, exc: BaseException) -> JSONResponse:
    """An exception nothing handled: `node.internal`, its traceback in the log under the
    error id the caller gets."""
    eid = str(uuid.uuid4())
    log.error("node.internal", error_id=eid, method=method, path=path, exc_info=exc)
    return respond(errors.INTERNAL, error_id=eid)


def _framework_refusal(exc: StarletteHTTPException) -> JSONResponse:
    """A 5xx raised by the framework itself: our body, its status."""
    body = body_for(errors.INTERNAL, str(uuid.uuid4()), str(exc.detail or ""))
    log.error("refused", code=errors.INTERNAL.id, error_id=body.error_id,
              status=exc.status_code, detail=str(exc.detail or ""))
    context.note(code=errors.INTERNAL.id, error_id=body.error_id)
    return JSONResponse(body.model_dump(), status_code=exc.status_code,
                        headers=dict(exc.headers or {}))


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an operation can answer with."""
    described = {
        400: "the package or a parameter is refused",
        401: "not authenticated: missing, malformed, expired, replayed or wrong signature, "
             "unknown or revoked credential",
        403: "authenticated but not allowed (sender mismatch, client certificate, signer)",
        404: "unknown recipient, delivery or document",
        405: "method not allowed",
        409: "conflict with the state of a recipient",
        410: "the copy was recalled by its sender (Art. 9.3)",
        413: "body larger than the limit",
        422: "a parameter or the JSON body is invalid",
        429: "rate limit: retry after Retry-After seconds",
        500: "fault of the node",
        503: "the node is temporarily unable (database, broker): retry",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": described[s]}
        if s == 429:
            entry["headers"] = {"Retry-After": {
                "description": "seconds to wait", "schema": {"type": "integer"}}}
        out[s] = entry
    return out
