"""Administrator authentication for the admin and operator API: deny by default.

Separate from agency credentials on purpose (Art. 22: accounts are never shared, and an
agency system must never reach the registry): administrators present their own token as
`Authorization: Bearer <token>`; the settings hold only `sha256:` hashes of the tokens,
each with the administrator's name (the actor written into every change) and a role:

- `operator`: read the registry, the credentials list (never secrets), and send
  maintenance notices (Art. 21.3) — what the people running the node need day to day;
- `admin`: everything, i.e. also every change to agencies, credentials, certificates
  and dead letters.

Every admin route names its role in its OpenAPI entry (`x-axis-role`); the route class
below checks the token and the role BEFORE FastAPI reads the body, so a stranger learns
nothing from validation errors. Errors leave as the JSON every other route uses
(adapters/rest/errors.py): `{code, message_vi, message_en, error_id, detail}`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from adapters.rest import errors as rest_errors
from axis import errors
from axis.errors import AxisError
from axis.registry import credentials
from axis.settings import AdminToken

ROLE_KEY = "x-axis-role"
ROLES = ("operator", "admin")  # each role can do what the ones before it can
TOKEN_PREFIX = "axa_"  # noqa: S105 (a prefix, not a secret: lets scanners spot leaks)


@dataclass(frozen=True, slots=True)
class Administrator:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


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


def admin_route_class(tokens: Callable[[], Sequence[AdminToken]]) -> type[APIRoute]:
    """A route class for one app's admin router (the tokens come from its settings)."""

    class AdminRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            inner = super().get_route_handler()
            role = str((self.openapi_extra or {}).get(ROLE_KEY, "admin"))  # default: most

            async def handler(request: Request) -> Response:
                try:
                    who = authenticate(tokens(), request.headers.get("authorization", ""))
                    if not who.may(role):
                        raise errors.AUTH_ADMIN_FORBIDDEN.error(
                            f"{who.name} is {who.role}; this needs {role}")
                    request.state.administrator = who
                    return await inner(request)
                except AxisError as exc:  # validation errors go to the app's handler
                    return error_response(exc)

            return handler

    return AdminRoute


def role(name: str) -> dict[str, Any]:
    """`openapi_extra` for a route: the role it needs, read by the route class."""
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r}")
    return {ROLE_KEY: name}


def administrator(request: Request) -> Administrator:
    """Dependency: who is calling (set by the route class before the endpoint runs)."""
    who: Administrator = request.state.administrator
    return who

