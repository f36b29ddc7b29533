"""Admission of an authenticated request: a signature is accepted once, and an agency
within its rate limit, by whichever node process the request reaches.

Both are decided together, in one atomic step of a store every process shares (the
node's database, adapters/store/auth_state.py): one transaction per request instead of
two. The replay key is (system id, signature), kept until the timestamp leaves the
acceptance window, after which the window check refuses the request anyway; a replay
spends no token. The rate limit is a token bucket per agency (`ratelimit.Bucket`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from axis.auth.ratelimit import Bucket


@dataclass(frozen=True, slots=True)
class Ticket:
    system_id: str
    signature: str  # hex HMAC-SHA256 of the request
    expires_at: float  # Unix seconds: the signature is remembered until then
    bucket: str  # whose tokens it spends: the agency


@dataclass(frozen=True, slots=True)
class Verdict:
    replayed: bool = False  # the signature was seen and has not expired
    wait: int = 0  # refused by the rate limit: whole seconds until a token (≥ 1)


class Admission(Protocol):
    bucket: Bucket

    def admit(self, ticket: Ticket, now: float) -> Verdict:
        """Record the signature and spend a token of the ticket's bucket, atomically
        across processes. A replay records and spends nothing; a signature recorded
        while the bucket is empty stays recorded (the request was made)."""
        ...

    def purge(self, now: float) -> int:
        """Forget expired signatures and buckets idle long enough to be full again (a
        missing bucket is a full one); how many rows went."""
        ...
