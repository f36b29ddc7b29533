"""Request authentication for the agency API: deny by default.

Every route of the agency router depends on `authenticated`, which runs the core's gate
(axis/auth/gate.py) around reading the body: the headers and the credential are checked
before a byte of the body is read, and the body is read into a bounded buffer (413 past
the cap) because its hash is part of the signature.

A large body (a package with its attachments: up to `edxml.max_package_bytes`) is
spooled to an unnamed temporary file under the data directory as it arrives, never
gathered in memory (issue 9); `Body.read` gives it whole once, to whoever needs it.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

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


# Bodies up to this size are held in memory; larger ones are spooled to a file.
SPOOL_ABOVE = 1 << 20
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Body:
    """A request body, in memory (`small`) or spooled to an unnamed file (`spool`, closed
    and gone with this object)."""

    size: int
    sha256: str
    small: bytes = b""
    spool: IO[bytes] | None = None

    def read(self) -> bytes:
        """The whole body: one allocation of its size, read afresh from a spool."""
        if self.spool is None:
            return self.small
        self.spool.seek(0)
        return self.spool.read()

    def chunks(self) -> Iterator[bytes]:
        if self.spool is None:
            for i in range(0, len(self.small), _CHUNK):
                yield self.small[i:i + _CHUNK]
            return
        self.spool.seek(0)
        while chunk := self.spool.read(_CHUNK):
            yield chunk


@dataclass(frozen=True, slots=True)
class Authenticated:
    caller: Caller
    body: Body


@dataclass(frozen=True, slots=True)
class AgencyAuth:
    gate: Gate
    body_cap: int
    client_cert_header: str = ""
    spool_dir: Path | None = None  # None: the system's temporary directory


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
    return AgencyAuth(gate, r.body_cap(settings.edxml), r.client_cert_header,
                      settings.data_dir / "spool")


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
    single_query(request)
    for name in (*READ_ONCE_HEADERS, *(h for h in extra_headers if h)):
        if len(request.headers.getlist(name)) > 1:
            raise errors.API_DUPLICATE_PARAMETER.error(f"header {name} given twice")


def single_query(request: Request) -> None:
    """Refuse a query parameter given more than once (`api.duplicate_parameter`): each
    reader would pick its own value. The agency and the admin API take no lists."""
    names = [k for k, _ in request.query_params.multi_items()]
    repeated = sorted({k for k in names if names.count(k) > 1})
    if repeated:
        raise errors.API_DUPLICATE_PARAMETER.error(
            f"query parameter {repeated[0][:40]!r} given {names.count(repeated[0])} times")


async def read_capped(request: Request, cap: int, spool_dir: Path | None = None) -> Body:
    """The body, refused with 413 as soon as it passes `cap` (never held beyond it),
    hashed as it arrives; past `SPOOL_ABOVE` bytes it goes to a file, not to memory.

    A client that hangs up before the end of its body is the client's doing, refused as
    `api.client_disconnected` (logged as a refusal, not as a fault of the node)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise errors.TOO_LARGE.error(f"{declared} bytes, the limit is {cap}")
    buf: io.BytesIO | None = io.BytesIO()
    spool: IO[bytes] | None = None
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise errors.TOO_LARGE.error(f"more than {cap} bytes")
            digest.update(chunk)
            if spool is not None:
                spool.write(chunk)
                continue
            assert buf is not None
            buf.write(chunk)
            if size > SPOOL_ABOVE:
                spool = _spool_file(spool_dir)
                spool.write(buf.getbuffer())
                buf = None
    except ClientDisconnect as exc:
        if spool is not None:
            spool.close()
        raise errors.API_CLIENT_DISCONNECTED.error(
            f"after {size} of {declared or 'unknown'} bytes") from exc
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    if spool is not None:
        spool.flush()
        return Body(size, digest.hexdigest(), spool=spool)
    assert buf is not None
    return Body(size, digest.hexdigest(), small=buf.getvalue())


def _spool_file(directory: Path | None) -> IO[bytes]:
    """An unnamed file (unlinked at once: nothing is left behind, even by a crash)."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    try:
        return tempfile.TemporaryFile(prefix="body-", dir=directory)
    except OSError as exc:
        raise errors.STORE_UNAVAILABLE.error(f"spooling the request body: {exc}") from exc


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
    body = await read_capped(request, auth.body_cap, auth.spool_dir)
    fingerprint = client_fingerprint(request, auth.client_cert_header)
    # The gate hashes the body itself: a spooled one is read for it and let go at once.
    await run_in_threadpool(
        lambda: auth.gate.verify(claim, caller, method=request.method,
                                 target=request_target(request), body=body.read(),
                                 client_cert_fingerprint=fingerprint))
    context.note(agency=caller.agency_id)  # the access line's agency (adapters/logs)
    return Authenticated(caller, body)
