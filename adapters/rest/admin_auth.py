"""Administrator authentication for the admin and operator API: deny by default.

Separate from agency credentials on purpose (Art. 22: accounts are never shared, and an
agency system must never reach the registry): administrators present their own token as
`Authorization: Bearer <token>`; the settings hold only `sha256:` hashes of the tokens,
each with the administrator's name (the actor written into every change) and a role:

viewer, auditor, operator, registry admin and admin, each holding a fixed set of
capabilities (axis/auth/roles.py says which and why).

Every admin route names the capabilities it accepts in its OpenAPI entry (`x-axis-role`,
any one of them suffices; admin holds all); the route class below checks the token and
the role BEFORE FastAPI reads the body, so a stranger learns nothing from validation
errors. Then, still before the route runs, it journals the access (issue 11, item 4:
axis/journal/access.py): who, role, method and path, and why (`X-Axis-Reason`, optional
on reads, percent-encoded UTF-8; changes carry their own `reason` in the body, journaled
with the change).
Errors leave as the JSON every other route uses
(adapters/rest/errors.py): `{code, message_vi, message_en, error_id, detail}`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import unquote

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from adapters.rest import errors as rest_errors
from adapters.rest.auth import single_query
from axis import errors
from axis.auth.roles import ROLES, Administrator, check_role
from axis.errors import AxisError
from axis.journal.access import Access, AccessJournal, Action, Channel
from axis.registry import credentials
from axis.settings import AdminToken

__all__ = ["ROLES", "Administrator", "admin_route_class", "administrator", "authenticate",
           "role"]

ROLE_KEY = "x-axis-role"
ACTION_KEY = "x-axis-access"  # what the route does, as journaled (axis/journal/access.py)
REASON_HEADER = "x-axis-reason"
TOKEN_PREFIX = "axa_"  # noqa: S105 (a prefix, not a secret: lets scanners spot leaks)


def new_token() -> tuple[str, str]:
    """A fresh token (shown once) and the hash to put in `admin.tokens`."""
    token = TOKEN_PREFIX + credentials.new_secret()
    return token, credentials.hash_secret(token)


def authenticate(tokens: Sequence[AdminToken], authorization: str) -> Administrator:
    """The administrator a bearer token belongs to, or `auth.admin_required`."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise errors.AUTH_ADMIN_REQUIRED.error("send Authorization: Bearer <admin token>")
    presented = "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()
    found: AdminToken | None = None
    for entry in tokens:  # every entry compared, in constant time: no early exit
        if hmac.compare_digest(presented, entry.hash):
            found = entry
    if found is None:
        raise errors.AUTH_ADMIN_REQUIRED.error("unknown administrator token")
    return Administrator(found.name, found.role)


def error_response(exc: AxisError) -> JSONResponse:
    """The edge's one error JSON (adapters/rest/errors.py), with the Bearer challenge that
    admin routes answer 401 with (the agency routes challenge for their HMAC headers)."""
    headers = {"WWW-Authenticate": 'Bearer realm="axis-admin"'} if (
        exc.code.http_status == 401) else None
    return rest_errors.respond(exc.code, detail=exc.detail, error_id=exc.error_id,
                               findings=exc.findings, headers=headers)


def admin_route_class(tokens: Callable[[], Sequence[AdminToken]],
                      journal: AccessJournal | None = None) -> type[APIRoute]:
    """A route class for one app's admin router (the tokens come from its settings;
    `journal`: where each access is recorded)."""

    class AdminRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            inner = super().get_route_handler()
            extra = self.openapi_extra or {}
            roles = tuple(str(extra.get(ROLE_KEY, "admin")).split())  # default: admin only
            action = Action(extra.get(ACTION_KEY) or (
                Action.VIEW if (self.methods or {"POST"}) <= {"GET", "HEAD"} else Action.CHANGE))

            async def handler(request: Request) -> Response:
                try:
                    who = authenticate(tokens(), request.headers.get("authorization", ""))
                    if not who.may(*roles):
                        raise errors.AUTH_ADMIN_FORBIDDEN.error(
                            f"{who.name} is {who.role}; this needs {' or '.join(roles)}")
                    request.state.administrator = who
                    single_query(request)  # no admin route takes a list
                    if journal is not None:
                        _journal(journal, who, action, request)
                    return await inner(request)
                except AxisError as exc:  # validation errors go to the app's handler
                    return error_response(exc)

            return handler

    return AdminRoute


def _journal(journal: AccessJournal, who: Administrator, action: Action,
             request: Request) -> None:
    query = str(request.url.query)
    journal.record(Access(
        actor=who.name, role=who.role, action=action, channel=Channel.API,
        target=unquote(request.url.path),
        # Percent-encoded UTF-8 (a header is ASCII): "Thanh%20tra%20s%E1%BB%91 12".
        reason=unquote(request.headers.get(REASON_HEADER, "")),
        detail={"method": request.method, **({"query": unquote(query)} if query else {})}))


def role(*names: str, access: Action | None = None) -> dict[str, Any]:
    """`openapi_extra` for a route: the capabilities that admit a caller (any one of them;
    axis/auth/roles.py), read by the route class, and what the route does for the
    access journal (default: view for GET, change otherwise)."""
    extra: dict[str, Any] = {ROLE_KEY: " ".join(check_role(n) for n in names)}
    if access is not None:
        extra[ACTION_KEY] = access.value
    return extra


def administrator(request: Request) -> Administrator:
    """Dependency: who is calling (set by the route class before the endpoint runs)."""
    who: Administrator = request.state.administrator
    return who

