"""Replay protection: a signed request is accepted once.

The key is (system id, signature); it is kept until its timestamp leaves the acceptance
window, after which the window check refuses the request anyway. The in-process cache
serves one node process: several processes behind one address need a shared store (a
database table with a unique key, or Redis SET NX with expiry) behind the same port.
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol


class ReplayCache(Protocol):
    def first_use(self, key: str, expires_at: float, now: float) -> bool:
        """Record `key` until `expires_at` (Unix seconds); False when it was already
        recorded and has not expired: the request is a replay. Atomic."""
        ...


class MemoryReplayCache:
    """Thread-safe; expired keys are dropped as time passes, so memory stays bounded
    by what was accepted within one window (itself bounded by the rate limits)."""

    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._until: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._max = max_entries

    def first_use(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            self._expire(now)
            seen = self._until.get(key)
            if seen is not None and seen >= now:
                return False
            if len(self._until) >= self._max:
                # Fail closed: refusing is safer than forgetting a key that might be replayed.
                return False
            self._until[key] = expires_at
            heapq.heappush(self._expiry, (expires_at, key))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._until)

    def _expire(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            at, key = heapq.heappop(self._expiry)
            if self._until.get(key) == at:
                del self._until[key]
