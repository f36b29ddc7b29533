"""Request authentication for the agency API: deny by default.

Every route of the agency router depends on `authenticated`, which runs the core's gate
(axis/auth/gate.py) around reading the body: the headers and the credential are checked
before a byte of the body is read, and the body is read into a bounded buffer (413 past
the cap) because its hash is part of the signature.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi import Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from adapters.logs import context
from adapters.store.auth_state import SqlAdmission, admission_engine
from axis import errors
from axis.auth import keys, signing
from axis.auth.gate import Caller, Gate
from axis.auth.ratelimit import Bucket
from axis.clock import Clock
from axis.registry.service import Registry
from axis.settings import Settings

SECURITY_SCHEMES: dict[str, Any] = {
    "AxisSystemId": {"type": "apiKey", "in": "header", "name": "X-Axis-System-Id",
                     "description": "the system id of the agency's credential"},
    "AxisTimestamp": {"type": "apiKey", "in": "header", "name": "X-Axis-Timestamp",
                      "description": "Unix seconds (decimals allowed), within ±5 minutes"},
    "AxisSignature": {"type": "apiKey", "in": "header", "name": "X-Axis-Signature",
                      "description": "hex HMAC-SHA256 of METHOD\\nTARGET\\nTIMESTAMP\\n"
                                     "hex(sha256(body)) keyed with the secret (docs/api.md)"},
}
# One requirement object naming all three: the three headers together (AND), not any one.
SECURITY: list[dict[str, list[str]]] = [{name: [] for name in SECURITY_SCHEMES}]


@dataclass(frozen=True, slots=True)
class Authenticated:
    caller: Caller
    body: bytes


@dataclass(frozen=True, slots=True)
class AgencyAuth:
    gate: Gate
    body_cap: int
    client_cert_header: str = ""


def build_auth(settings: Settings, registry: Registry, clock: Clock,
               engine: Engine) -> AgencyAuth:
    """The gate on the node's database (`engine`): the replay cache and the rate limits
    are shared with every other process serving the same node."""
    r = settings.rest
    gate = Gate(
        registry, keys.master_key(settings), clock=clock,
        admission=SqlAdmission(admission_engine(engine), Bucket(r.rate_per_minute, r.burst)),
        window=timedelta(seconds=r.clock_skew_seconds),
        # Fail closed: requiring certificates with no way to receive them refuses all.
        require_client_cert=r.require_client_cert,
    )
    return AgencyAuth(gate, r.body_cap(settings.edxml), r.client_cert_header)


def request_target(request: Request) -> str:
    """The request target as it travelled: raw path, and `?query` when there is one."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    query: bytes = request.scope.get("query_string", b"")
    target = bytes(raw).decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


# Headers a request carries once. Repeated, each reader would pick its own (the first,
# the last, a comma-joined list): refused instead (`api.duplicate_parameter`).
READ_ONCE_HEADERS = (signing.SYSTEM_ID_HEADER, signing.TIMESTAMP_HEADER,
                     signing.SIGNATURE_HEADER, "Content-Type", "Content-Length",
                     "SOAPAction", "messagetype")


def single_valued(request: Request, extra_headers: tuple[str, ...] = ()) -> None:
    """Refuse a query parameter or a read-once header given more than once. No agency
    operation takes a list: any repeated query parameter is ambiguous."""
    names = [k for k, _ in request.query_params.multi_items()]
    repeated = sorted({k for k in names if names.count(k) > 1})
    if repeated:
        raise errors.API_DUPLICATE_PARAMETER.error(
            f"query parameter {repeated[0][:40]!r} given {names.count(repeated[0])} times")
    for name in (*READ_ONCE_HEADERS, *(h for h in extra_headers if h)):
        if len(request.headers.getlist(name)) > 1:
            raise errors.API_DUPLICATE_PARAMETER.error(f"header {name} given twice")


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, refused with 413 as soon as it passes `cap` (never held beyond it).

    A client that hangs up before the end of its body is the client's doing, refused as
    `api.client_disconnected` (logged as a refusal, not as a fault of the node)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise errors.TOO_LARGE.error(f"{declared} bytes, the limit is {cap}")
    buf = bytearray()
    try:
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > cap:
                raise errors.TOO_LARGE.error(f"more than {cap} bytes")
    except ClientDisconnect as exc:
        raise errors.API_CLIENT_DISCONNECTED.error(
            f"after {len(buf)} of {declared or 'unknown'} bytes") from exc
    return bytes(buf)


def client_fingerprint(request: Request, header: str) -> str | None:
    """SHA-256 of the client certificate: from the ASGI TLS extension when the server
    provides it, else from the header a TLS-terminating proxy sets (when configured)."""
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    pem: str | None = chain[0] if chain else None
    if pem is None and header:
        value = request.headers.get(header, "")
        pem = urllib.parse.unquote(value) if value.strip() else None
    if pem is None:
        return None
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise errors.AUTH_CLIENT_CERTIFICATE.error("unreadable client certificate") from exc
    return cert.fingerprint(hashes.SHA256()).hex()


async def authenticated(request: Request) -> Authenticated:
    """The FastAPI dependency of every agency route."""
    auth: AgencyAuth = request.app.state.agency_auth
    single_valued(request, (auth.client_cert_header,))
    claim = auth.gate.claim(request.headers)
    # The registry's version is read on every request (revocation takes effect at once,
    # Art. 22); database calls leave the event loop.
    caller = await run_in_threadpool(auth.gate.credential, claim)
    body = await read_capped(request, auth.body_cap)
    fingerprint = client_fingerprint(request, auth.client_cert_header)
    await run_in_threadpool(
        lambda: auth.gate.verify(claim, caller, method=request.method,
                                 target=request_target(request), body=body,
                                 client_cert_fingerprint=fingerprint))
    context.note(agency=caller.agency_id)  # the access line's agency (adapters/logs)
    return Authenticated(caller, body)
