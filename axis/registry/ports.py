"""The registry's store port; `adapters/store/registry_repo.py` implements it.

Every write takes the `AgencyChange` that explains it and stores both in one
transaction: an entry never changes without its history line (who, when, why: Art. 22
asks that accounts be created, changed and revoked on request, so the request is kept).
The store enforces no business rule beyond its unique keys; `Registry` does.

Every write also bumps the registry's version in the same transaction: processes serving
from an in-memory snapshot (`axis.registry.live`) notice the change by that number.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from axis.registry.model import Agency, AgencyChange, AgencyKind, AgencyState, Credential
from axis.registry.snapshot import RegistrySnapshot


class RegistryStore(Protocol):
    def get(self, agency_id: str) -> Agency | None:
        """The agency whose QCVN 102 identifier (primary key) this is."""
        ...

    def find(self, identifier: str) -> Agency | None:
        """The agency with this identifier in either form (`agency_id` or `short_id`)."""
        ...

    def list(
        self,
        *,
        state: AgencyState | None = None,
        kind: AgencyKind | None = None,
        parent_id: str | None = None,
    ) -> builtins.list[Agency]:
        """Agencies matching every filter given, ordered by `agency_id` (code points)."""
        ...

    def save(self, agency: Agency, change: AgencyChange) -> None:
        """Insert or replace the entry (its certificate set included) and append the
        history line, atomically."""
        ...

    def save_many(self, items: Sequence[tuple[Agency, AgencyChange]]) -> None:
        """`save` for each item, in order, in one transaction: all or nothing."""
        ...

    def history(self, agency_id: str) -> builtins.list[AgencyChange]:
        """The agency's history, oldest first."""
        ...

    def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        """The agency a certificate (SHA-256 fingerprint, lower-case hex) is bound to."""
        ...

    def add_credential(self, credential: Credential, change: AgencyChange) -> None: ...

    def revoke_credential(
        self, system_id: str, revoked_at: datetime, change: AgencyChange
    ) -> None: ...

    def credential(self, system_id: str) -> Credential | None: ...

    def credentials(self, agency_id: str) -> builtins.list[Credential]:
        """The agency's credentials, revoked ones included, oldest first."""
        ...

    def version(self) -> int:
        """The registry's version: bumped by every write above, in its transaction."""
        ...

    def snapshot(self) -> RegistrySnapshot:
        """Every agency, binding and credential as one consistent read, labelled with the
        version it was read at."""
        ...
