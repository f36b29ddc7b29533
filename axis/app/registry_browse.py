"""The registry as the console reads it (issue 11, item 5, "Registry"): agencies a page
at a time, searched by either identifier form or name and filtered by state; one
agency with its history (who, when, why, before/after), certificates and credentials
(never a secret); and a new agency from a form's fields.

Changes go through the registry's own operations (axis/registry/service.py `Registry`),
the same the admin API calls: this module only reads, and builds the entry `add` takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from axis import errors
from axis.registry import codec
from axis.registry.model import Agency, AgencyChange, AgencyState, Credential
from axis.registry.service import Registry

PAGE = 50
MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class AgencyPage:
    total: int  # every match, not only this page
    offset: int
    limit: int
    agencies: tuple[Agency, ...]


@dataclass(frozen=True, slots=True)
class AgencyDetail:
    agency: Agency
    history: tuple[AgencyChange, ...]  # newest first
    credentials: tuple[Credential, ...]  # only hashes are stored; none is shown


class AgencySearch(Protocol):
    """The ids of the agencies matching, a page at a time (adapters/store/
    registry_search.py), and how many match in all."""

    def search(self, text: str, state: AgencyState | None, limit: int, offset: int
               ) -> tuple[int, list[str]]: ...


class RegistryBrowse:
    def __init__(self, search: AgencySearch, registry: Registry) -> None:
        self._search, self._registry = search, registry

    def page(self, *, text: str = "", state: AgencyState | None = None, offset: int = 0,
             limit: int = PAGE) -> AgencyPage:
        limit, offset = max(1, min(limit, 500)), max(0, offset)
        total, ids = self._search.search(text.strip()[:MAX_QUERY], state, limit, offset)
        found = (self._registry.find(i) for i in ids)
        return AgencyPage(total, offset, limit, tuple(a for a in found if a is not None))

    def agency(self, identifier: str) -> AgencyDetail:
        a = self._registry.resolve(identifier)  # registry.unknown_agency
        return AgencyDetail(a, tuple(reversed(self._registry.history(a.agency_id))),
                            tuple(self._registry.credentials(a.agency_id)))

    def add(self, fields: Mapping[str, str], *, actor: str, reason: str) -> Agency:
        """Register an agency from text fields (blank ones left out), as `POST
        /admin/v1/agencies` does from JSON."""
        raw = {k: v.strip() for k, v in fields.items() if v.strip()}
        try:
            entry = codec.merge(None, codec.parse_fields(raw))
        except ValueError as exc:
            raise errors.REGISTRY_INVALID_AGENCY.error(str(exc)) from exc
        return self._registry.add(entry, actor=actor, reason=reason)
