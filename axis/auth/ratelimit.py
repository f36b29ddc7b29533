"""Per-agency rate limits: a token bucket per key, on the injected clock.

Each agency has `burst` tokens and earns `rate_per_minute` per minute up to `burst`; a
request spends one. With none left the caller is told how many seconds to wait (HTTP 429
with Retry-After). In-process: like the replay cache, several node processes share the
limit only through a shared store.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from axis.clock import Clock


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # Unix seconds of the last refill


class RateLimiter:
    def __init__(self, rate_per_minute: int, burst: int, clock: Clock) -> None:
        if rate_per_minute <= 0 or burst <= 0:
            raise ValueError("rate_per_minute and burst must be positive")
        self.rate = rate_per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """0 when a token was spent; otherwise the whole seconds to wait (at least 1)."""
        now = self._clock.now().timestamp()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = _Bucket(self.burst, now)
            # max(): a clock stepping backwards must not drain the bucket.
            b.tokens = min(self.burst, b.tokens + max(0.0, now - b.at) * self.rate)
            b.at = max(b.at, now)
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - b.tokens) / self.rate))
