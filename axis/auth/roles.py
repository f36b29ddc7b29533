"""The roles of the people who run and audit the node (issue 11, item 5): deny by default.

Each administrator token carries one role (settings `admin.tokens`, Art. 22: one account
per person, never shared). A route or console page names the capability it needs; a role
holds a fixed set of capabilities, and `admin` holds them all:

- `viewer`: read the registry, the traffic (metadata only: no package bytes), the overview;
- `auditor`: also the journal (verify, checkpoints), the packages and acknowledgements
  themselves, evidence bundles and replay — everything an inspection needs, nothing
  that changes the node;
- `operator`: also what running the node needs: notices to agencies (Art. 21.3), dead
  letters and resends, peers' queues, diagnostics, credentials listed (never secrets);
- `registry_admin`: also every change to the registry (Art. 8.2: agencies, their
  credentials and certificates), each with a reason;
- `office`: also the Office's decisions on tasks assigned through documents (issue 12:
  approve or refuse completion and extensions, correct a task's description). A role of
  its own, not the operator's: those are the Committee's Office's business decisions
  (Art. 13.3.c, 13.5), which the people running the node must not take for it;
- `admin`: everything (peers, tokens).

Roles are not a ladder: an auditor cannot resend and an operator cannot download a
package, so that reading the evidence and acting on the traffic stay separate duties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

VIEWER, AUDITOR, OPERATOR, REGISTRY_ADMIN, ADMIN = (
    "viewer", "auditor", "operator", "registry_admin", "admin")
OFFICE = "office"
ROLES: Final = (VIEWER, AUDITOR, OPERATOR, REGISTRY_ADMIN, OFFICE, ADMIN)

# Capabilities are named after the role that introduces them.
_GRANTS: Final[dict[str, frozenset[str]]] = {
    VIEWER: frozenset({VIEWER}),
    AUDITOR: frozenset({VIEWER, AUDITOR}),
    OPERATOR: frozenset({VIEWER, OPERATOR}),
    REGISTRY_ADMIN: frozenset({VIEWER, OPERATOR, REGISTRY_ADMIN}),
    OFFICE: frozenset({VIEWER, OFFICE}),
    ADMIN: frozenset(ROLES),
}

# What each role is called where staff read it (the console, error messages).
TITLES: Final[dict[str, tuple[str, str]]] = {
    VIEWER: ("Người xem", "Viewer"),
    AUDITOR: ("Kiểm toán viên", "Auditor"),
    OPERATOR: ("Vận hành", "Operator"),
    REGISTRY_ADMIN: ("Quản trị danh bạ", "Registry admin"),
    OFFICE: ("Văn phòng UBND tỉnh", "Committee's Office"),
    ADMIN: ("Quản trị hệ thống", "Administrator"),
}


@dataclass(frozen=True, slots=True)
class Administrator:
    """Who is calling: the token's name (the actor written into every change) and role."""

    name: str
    role: str

    def may(self, *needed: str) -> bool:
        """True when this role holds one of the `needed` capabilities (none given: admin)."""
        return bool(_GRANTS.get(self.role, frozenset()) & set(needed or (ADMIN,)))


def check_role(name: str) -> str:
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r}: one of {', '.join(ROLES)}")
    return name
