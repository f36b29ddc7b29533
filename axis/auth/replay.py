"""Replay protection: a signed request is accepted once, by whichever node process.

The key is (system id, signature); it is kept until its timestamp leaves the acceptance
window, after which the window check refuses the request anyway. Several HTTP processes
serve one address, so the record lives where they all see it: a table with that pair as
its unique key, in the database the node already has (adapters/store/auth_state.py):
inserting a key that is there and unexpired is the replay.
"""

from __future__ import annotations

from typing import Protocol


class ReplayCache(Protocol):
    def first_use(self, system_id: str, signature: str, expires_at: float, now: float) -> bool:
        """Record the pair until `expires_at` (Unix seconds); False when it was already
        recorded and has not expired: the request is a replay. Atomic across processes."""
        ...

    def purge(self, now: float) -> int:
        """Forget the pairs that expired before `now` (the job `auth.purge`); how many."""
        ...
