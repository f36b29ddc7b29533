"""Policy: who may send what to whom. Reads only the verified package (issue 3).

- The sender is a registered, active agency (Art. 8.2, Art. 22).
- Every recipient exists (`route.unknown_agency`) and is active
  (`route.recipient_suspended`).
- Documents declaring a state-secret classification are refused (Art. 1.2).
- A status goes to `ResponseFor/OrganId` (spec §5), which for code 13 names the recipient
  whose copy the original sender takes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from axis import errors
from axis.edxml.model import DocumentPackage, Package, StatusPackage
from axis.registry.model import Agency, AgencyState


class AgencyDirectory(Protocol):
    """The registry as routing sees it: lookup by either identifier form."""

    def find(self, identifier: str) -> Agency | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """Where a package goes: the sender and each recipient, as registered."""

    sender: Agency
    recipients: tuple[Agency, ...]


# Secrecy marks seen as vendor children of OtherInfo; any non-empty value other than a
# "none" marker declares a classified document (độ mật: Mật, Tối mật, Tuyệt mật).
_NOT_SECRET = {"", "0", "false", "none", "không", "thường", "binh thuong", "bình thường"}


def declares_secrecy(package: Package) -> str | None:
    if not isinstance(package, DocumentPackage):
        return None
    level = package.header.other.secrecy.strip()
    return level if level.lower() not in _NOT_SECRET else None


def _agency(directory: AgencyDirectory, identifier: str) -> Agency | None:
    return directory.find(identifier) if identifier else None


def route(package: Package, directory: AgencyDirectory, *, local_only: bool = False,
          resolve_unknown: Callable[[str], Agency | None] | None = None) -> Route:
    """`local_only`: a package a peer node brought (issue 10). Its `To` may name agencies
    of other provinces, which their own nodes serve: only this node's agencies get a copy
    here (forwarding the others back would loop), and an unknown one is not a refusal.
    `resolve_unknown`: a recipient the registry does not know, served by the peer that
    claims its province code (axis/federation/provinces.py)."""
    sender = _agency(directory, package.sender_id)
    if sender is None:
        raise errors.SENDER_UNKNOWN.error(f"From/OrganId {package.sender_id!r}")
    if sender.state is not AgencyState.ACTIVE:
        raise errors.SENDER_SUSPENDED.error(f"{sender.agency_id} is {sender.state.value}")
    level = declares_secrecy(package)
    if level is not None:
        raise errors.SECRET_REFUSED.error(f"secrecy level {level!r}")
    recipients: list[Agency] = []
    for identifier in dict.fromkeys(package.recipient_ids):  # one copy per recipient
        agency = _agency(directory, identifier)
        if agency is None and identifier and resolve_unknown is not None and not local_only:
            agency = resolve_unknown(identifier)
        if local_only and (agency is None or agency.peer is not None):
            continue
        if agency is None:
            where = "ResponseFor/OrganId" if isinstance(package, StatusPackage) else "To/OrganId"
            raise errors.UNKNOWN_AGENCY.error(f"{where} {identifier!r}")
        if agency.state is not AgencyState.ACTIVE:
            raise errors.RECIPIENT_SUSPENDED.error(f"{agency.agency_id} is {agency.state.value}")
        if agency.agency_id not in {a.agency_id for a in recipients}:
            recipients.append(agency)
    if local_only and not recipients:
        raise errors.UNKNOWN_AGENCY.error("no recipient of the package is served by this node")
    return Route(sender, tuple(recipients))
