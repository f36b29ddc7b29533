"""The registry as one immutable value: what every request reads instead of the database.

A snapshot holds every agency (both identifier forms), every credential (hashes only),
every certificate binding and the parent → children index, as they stood at one registry
version. It is built in one read (`RegistryStore.snapshot`), never changed afterwards,
and replaced as a whole (`axis.registry.live`): a reader holding one sees a consistent
registry for as long as it holds it, without a lock.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from axis.registry.model import Agency, AgencyKind, AgencyState, Credential


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    version: int  # the registry version it was read at (every write bumps it)
    agencies: tuple[Agency, ...]  # ordered by agency_id (code points), like the store
    _by_id: Mapping[str, Agency]
    _by_short: Mapping[str, Agency]
    _by_certificate: Mapping[str, Agency]
    _children: Mapping[str, tuple[Agency, ...]]
    _credentials: Mapping[str, Credential]
    _credentials_of: Mapping[str, tuple[Credential, ...]]

    @classmethod
    def build(
        cls, version: int, agencies: Iterable[Agency], credentials: Iterable[Credential]
    ) -> RegistrySnapshot:
        ordered = tuple(sorted(agencies, key=lambda a: a.agency_id))
        children: dict[str, list[Agency]] = defaultdict(list)
        for a in ordered:
            if a.parent_id is not None:
                children[a.parent_id].append(a)
        creds = sorted(credentials, key=lambda c: (c.issued_at, c.system_id))
        creds_of: dict[str, list[Credential]] = defaultdict(list)
        for c in creds:
            creds_of[c.agency_id].append(c)
        return cls(
            version=version,
            agencies=ordered,
            _by_id=MappingProxyType({a.agency_id: a for a in ordered}),
            _by_short=MappingProxyType({a.short_id: a for a in ordered}),
            _by_certificate=MappingProxyType(
                {fp: a for a in ordered for fp in a.certificates}),
            _children=MappingProxyType({k: tuple(v) for k, v in children.items()}),
            _credentials=MappingProxyType({c.system_id: c for c in creds}),
            _credentials_of=MappingProxyType({k: tuple(v) for k, v in creds_of.items()}),
        )

    def get(self, agency_id: str) -> Agency | None:
        return self._by_id.get(agency_id)

    def find(self, identifier: str) -> Agency | None:
        """Either form; should the two forms ever meet, the routing key (agency_id) wins
        (as in the store)."""
        return self._by_id.get(identifier) or self._by_short.get(identifier)

    def list(
        self, *, state: AgencyState | None = None, kind: AgencyKind | None = None,
        parent_id: str | None = None,
    ) -> builtins.list[Agency]:
        pool = self._children.get(parent_id, ()) if parent_id is not None else self.agencies
        return [a for a in pool
                if (state is None or a.state is state) and (kind is None or a.kind is kind)]

    def descendants(self, agency_id: str, *, recursive: bool = True) -> builtins.list[Agency]:
        """Children (all descendants when `recursive`), breadth first."""
        out: builtins.list[Agency] = []
        seen = {agency_id}
        frontier = [agency_id]
        while frontier:
            for child in self._children.get(frontier.pop(0), ()):
                if child.agency_id in seen:  # defensive: cycles are refused on write
                    continue
                seen.add(child.agency_id)
                out.append(child)
                if recursive:
                    frontier.append(child.agency_id)
        return out

    def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        return self._by_certificate.get(fingerprint)

    def credential(self, system_id: str) -> Credential | None:
        return self._credentials.get(system_id)

    def credentials(self, agency_id: str) -> builtins.list[Credential]:
        """Revoked ones included, oldest first (as the store answers)."""
        return list(self._credentials_of.get(agency_id, ()))
