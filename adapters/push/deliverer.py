"""Push over HTTP: the transport of the push channel, and the channel wired to it.

The policy (which copies are due, attempt counting, back-off with full jitter,
dead-lettering, requeue) is the core's: axis/route/channels/push.py. This module makes the
POST: the agency's newest unrevoked credential keys the signature (adapters/push/signing.py),
redirects are never followed (the package goes only where the registry says), and every
httpx failure becomes a failed attempt with a short reason, never an exception.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Protocol

import httpx

from adapters.push import signing
from adapters.push.attempts import PushAttempts
from axis.clock import Clock
from axis.registry.model import Agency, AgencyState, Credential
from axis.route.channels.push import PushChannel, PushObserver, PushOutcome
from axis.route.exchange import Exchange
from axis.route.model import Delivery
from axis.settings import PushSettings

MAX_DETAIL = 300


class PushDirectory(Protocol):
    """What push needs of the registry (`axis.registry.service.Registry`)."""

    def list(self, *, state: AgencyState | None = None) -> list[Agency]: ...

    def credentials(self, identifier: str) -> builtins.list[Credential]: ...


class HttpPushTransport:
    """`PushTransport` with httpx: one signed POST per attempt."""

    def __init__(self, *, http: httpx.Client, directory: PushDirectory,
                 secret_for: Callable[[str], str], clock: Clock) -> None:
        self._http = http  # follow_redirects=False (adapters/node.py)
        self._directory = directory
        self._secret_for = secret_for  # system id → its credential secret
        self._clock = clock

    def post(self, agency: Agency, delivery: Delivery, body: bytes, *, attempt: int
             ) -> PushOutcome:
        url = agency.endpoint
        credential = newest_credential(self._directory.credentials(agency.agency_id))
        if credential is None:
            return PushOutcome("the agency has no unrevoked credential to key the signature")
        timestamp = f"{self._clock.now().timestamp():.6f}"
        headers = signing.headers(
            secret=self._secret_for(credential.system_id), system_id=credential.system_id,
            url=url, timestamp=timestamp, delivery_id=delivery.delivery_id, attempt=attempt,
            body=body)
        try:
            response = self._http.post(url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return PushOutcome(f"{type(exc).__name__}: {exc}"[:MAX_DETAIL])
        if 200 <= response.status_code < 300:
            return PushOutcome()
        return PushOutcome(f"HTTP {response.status_code}")


class PushDeliverer(PushChannel):
    """The push channel over HTTP with the database's attempt table: what the composition
    root (adapters/node.py) and the tests build."""

    def __init__(
        self,
        *,
        exchange: Exchange,
        directory: PushDirectory,
        http: httpx.Client,
        secret_for: Callable[[str], str],
        clock: Clock,
        random: Callable[[], float],
        settings: PushSettings,
        attempts: PushAttempts,
        observer: PushObserver | None = None,
        timer: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            exchange=exchange, directory=directory,
            transport=HttpPushTransport(http=http, directory=directory,
                                        secret_for=secret_for, clock=clock),
            attempts=attempts, clock=clock, random=random, settings=settings,
            observer=observer, timer=timer)


def newest_credential(creds: list[Credential]) -> Credential | None:
    live = [c for c in creds if c.revoked_at is None]
    return max(live, key=lambda c: (c.issued_at, c.system_id)) if live else None
