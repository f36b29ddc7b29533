"""Per-agency rate limits: a token bucket per agency, shared by every node process.

Each agency has `burst` tokens and earns `rate_per_minute` per minute up to `burst`; a
request spends one. With none left the caller is told how many seconds to wait (HTTP 429
with Retry-After). The buckets live in the database the node already has (the
`Admission` port, axis/auth/admission.py; one atomic UPDATE per request), so N processes
behind one address grant an agency `burst` requests, not N times as many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    """The shape every agency's bucket has."""

    rate_per_minute: int
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_minute <= 0 or self.burst <= 0:
            raise ValueError("rate_per_minute and burst must be positive")

    @property
    def per_second(self) -> float:
        return self.rate_per_minute / 60.0

    @property
    def refill_seconds(self) -> float:
        """How long an empty bucket takes to fill: an idle row older is a full bucket."""
        return self.burst / self.per_second

    def refilled(self, tokens: float, updated_at: float, now: float) -> float:
        """Tokens at `now`. max(): a clock stepping backwards must not drain the bucket,
        nor refund anything."""
        return min(float(self.burst), tokens + max(0.0, now - updated_at) * self.per_second)

    def wait(self, tokens: float) -> int:
        """Whole seconds until a token is there (at least 1), with `tokens` now."""
        return max(1, math.ceil((1.0 - tokens) / self.per_second))
