"""What the exchange keeps of a refused package (issue 11, item 2): its bytes, so that
`axis audit replay` can judge it again. A port the store implements
(adapters/store/refused_repo.py), apart from the package store: the orphan collector
never sees these bytes, and a refusal still leaves nothing in the package store."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class RefusedEvidence(Protocol):
    def keep(self, raw: bytes, *, sha256: str, at: datetime, error_id: str,
             code: str) -> bool:
        """Keep the bytes (durably) with their row; False when they are not kept (the
        store's cap reached, or it failed: evidence never turns a refusal into an
        error)."""

    def get(self, sha256: str) -> bytes | None:
        """The kept bytes, their digest checked; None when not (or no longer) kept."""
