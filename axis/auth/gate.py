"""The gate every agency request passes: deny by default.

In order, cheapest first, so that a stranger costs the node little:
1. `claim`: the three headers present and well-formed, the timestamp inside ±5 minutes;
2. `credential`: the system's credential exists, is not revoked and its agency is active,
   from the registry's snapshot after checking the registry's version on every request
   (Art. 22: a revoked credential fails on the very next request; axis/registry/live.py);
3. (the adapter reads the body, size-capped)
4. `verify`: the HMAC over method, target, timestamp and body hash; the client certificate
   when mutual TLS is configured; then, in one atomic step shared by every node process
   (`admission`), the signature not seen before (replay) and the agency's rate limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from axis import errors
from axis.auth import signing
from axis.auth.admission import Admission, Ticket
from axis.clock import Clock
from axis.errors import SenderFault
from axis.registry import credentials
from axis.registry.model import Agency


class CredentialLookup(Protocol):
    """What the gate needs of the registry (`axis.registry.service.Registry`)."""

    def authenticate(self, system_id: str, secret: str) -> Agency: ...

    def agency_for_certificate(self, fingerprint: str) -> Agency | None: ...


class RateLimited(SenderFault):
    """`auth.rate_limited`, carrying the seconds to wait (HTTP Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(errors.AUTH_RATE_LIMITED, f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Claim:
    """What the headers claim, before anything is verified."""

    system_id: str
    timestamp: str
    unix: float
    signature: str


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated agency system."""

    system_id: str
    agency: Agency

    @property
    def agency_id(self) -> str:
        return self.agency.agency_id


class Gate:
    def __init__(
        self, lookup: CredentialLookup, master_key: bytes, *, clock: Clock,
        admission: Admission, window: timedelta = signing.WINDOW,
        require_client_cert: bool = False,
    ) -> None:
        self._lookup = lookup
        self._master = master_key
        self._clock = clock
        self._admission = admission
        self._window = window
        self._require_cert = require_client_cert

    def secret_for(self, system_id: str) -> str:
        """The secret the registry issues for a new system id (and the gate re-derives)."""
        return signing.derive_secret(self._master, system_id)

    def claim(self, headers: Mapping[str, str]) -> Claim:
        system_id = headers.get(signing.SYSTEM_ID_HEADER.lower(), "").strip()
        timestamp = headers.get(signing.TIMESTAMP_HEADER.lower(), "").strip()
        signature = headers.get(signing.SIGNATURE_HEADER.lower(), "").strip().lower()
        if not (system_id and timestamp and signature):
            raise errors.AUTH_MISSING.error(
                f"send {signing.SYSTEM_ID_HEADER}, {signing.TIMESTAMP_HEADER} and "
                f"{signing.SIGNATURE_HEADER}")
        if not credentials.SYSTEM_ID.fullmatch(system_id):
            raise errors.AUTH_MISSING.error(f"{signing.SYSTEM_ID_HEADER} is malformed")
        if not signing.SIGNATURE.fullmatch(signature):
            raise errors.AUTH_MISSING.error(
                f"{signing.SIGNATURE_HEADER}: 64 hexadecimal digits (HMAC-SHA256)")
        try:
            unix = signing.parse_timestamp(timestamp)
        except ValueError as exc:
            raise errors.AUTH_MISSING.error(
                f"{signing.TIMESTAMP_HEADER}: Unix seconds, e.g. 1795500000.123") from exc
        if not signing.within_window(unix, self._clock.now(), self._window):
            raise errors.AUTH_TIMESTAMP_INVALID.error(
                f"{timestamp} is not within ±{int(self._window.total_seconds())} s of "
                f"{self._clock.now().timestamp():.0f}")
        return Claim(system_id, timestamp, unix, signature)

    def credential(self, claim: Claim) -> Caller:
        """The registry's word, current as of now: `registry.credential_invalid` for an unknown
        system, a revoked credential, an inactive agency, or a secret not derived under
        this node's master key."""
        agency = self._lookup.authenticate(claim.system_id, self.secret_for(claim.system_id))
        return Caller(claim.system_id, agency)

    def verify(
        self, claim: Claim, caller: Caller, *, method: str, target: str, body: bytes,
        client_cert_fingerprint: str | None = None,
    ) -> None:
        canonical = signing.canonical_string(method, target, claim.timestamp,
                                             signing.body_hash(body))
        if not signing.signature_matches(self.secret_for(claim.system_id), canonical,
                                         claim.signature):
            # The canonical string holds nothing secret: showing it is how a connector's
            # author finds a canonicalisation mistake.
            raise errors.AUTH_SIGNATURE_INVALID.error(f"canonical string: {canonical!r}")
        self._client_certificate(caller, client_cert_fingerprint)
        now = self._clock.now().timestamp()
        ticket = Ticket(claim.system_id, claim.signature,
                        expires_at=claim.unix + self._window.total_seconds(),
                        bucket=caller.agency_id)
        verdict = self._admission.admit(ticket, now)
        if verdict.replayed:
            raise errors.AUTH_REPLAYED.error("sign every request afresh (new timestamp)")
        if verdict.wait:
            raise RateLimited(verdict.wait)

    def _client_certificate(self, caller: Caller, fingerprint: str | None) -> None:
        if fingerprint is None:
            if self._require_cert:
                raise errors.AUTH_CLIENT_CERTIFICATE.error("no client certificate")
            return
        owner = self._lookup.agency_for_certificate(fingerprint)
        if owner is None or owner.agency_id != caller.agency_id:
            raise errors.AUTH_CLIENT_CERTIFICATE.error(
                f"certificate {fingerprint[:16]}… is not bound to {caller.agency_id}")
