"""Routing by the province code of an identifier (issue 10, item 5): a node in a
`national` role — or any node that peers with whole provinces — need not know every
agency of every province. An identifier this node's registry does not know, whose
level-1 group (Decision 20/2020: `H41` in `000.00.00.H41` or `H41.02`) a peer claims
(`axis peer add --province H41`), is registered as an external agency served by that peer
(actor `routing:<peer>`, the reason naming the code: it is in the agency's history), and
routed there like any other. The peer's signed registry snapshot, when it comes, fills in
its name.

Only recipients, and the senders of packages a peer brings, are resolved this way: an
unknown sender submitting here is refused as before (Art. 8.2: senders are registered).
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from axis import errors
from axis.edxml.identifiers import DECISION20_ID, QCVN_ID
from axis.errors import AxisError
from axis.federation.model import Peer
from axis.registry.model import Agency, AgencyKind

REFRESH_S = 5.0


def province_of(identifier: str) -> str | None:
    """The level-1 group of a QCVN 102 or Decision 20 identifier, else None."""
    if QCVN_ID.fullmatch(identifier):
        return identifier.rsplit(".", 1)[1]
    if DECISION20_ID.fullmatch(identifier):
        return identifier.split(".", 1)[0]
    return None


class Registrar(Protocol):
    """What the router needs of the registry (axis/registry/service.py)."""

    def find(self, identifier: str) -> Agency | None: ...

    def add(self, agency: Agency, *, actor: str, reason: str) -> Agency: ...


class ProvinceRouter:
    def __init__(self, peers: Callable[[], Sequence[Peer]], registrar: Registrar, *,
                 own_province: str,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._peers = peers
        self._registrar = registrar
        self._own = own_province
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._by_code: dict[str, str] = {}

    def _peer_for(self, code: str) -> str | None:
        with self._lock:
            if self._monotonic() - self._at > REFRESH_S:
                claims: dict[str, builtins.list[str]] = {}
                for p in self._peers():
                    if p.active:
                        for c in p.provinces:
                            claims.setdefault(c, []).append(p.name)
                # A code two peers claim routes nowhere: which one is an operator's call.
                self._by_code = {c: names[0] for c, names in claims.items()
                                 if len(names) == 1}
                self._at = self._monotonic()
            return self._by_code.get(code)

    def resolve(self, identifier: str) -> Agency | None:
        """The agency for an identifier the registry does not know, registered as served
        by the peer that claims its province; None when no peer does."""
        code = province_of(identifier)
        if code is None or code == self._own:
            return None  # this province's own agencies are registered one by one
        peer = self._peer_for(code)
        if peer is None:
            return None
        agency = Agency(agency_id=identifier, short_id=identifier,
                        name=f"{identifier} ({code})", kind=AgencyKind.EXTERNAL,
                        served_by=peer)
        try:
            return self._registrar.add(
                agency, actor=f"routing:{peer}",
                reason=f"routed by province code {code} to peer {peer} / định tuyến theo "
                       "mã tỉnh")
        except AxisError as exc:
            if exc.code is not errors.REGISTRY_DUPLICATE_AGENCY:
                raise
            return self._registrar.find(identifier)  # registered meanwhile (a race)
