"""A peer node's own certificate speaks for the agencies that peer serves (issue 10).

A recipient's node signs the 01 it sends on the recipient's behalf (Art. 11.2) with its
node key: across a peer, that package arrives here `From` an agency of the other
province, signed by a certificate that names no agency. The administrator who added the
peer recorded its node certificates' fingerprints (`axis peer add --node-cert`): such a
certificate, once its chain to an installed anchor is verified, may sign for every agency
`served_by` that peer, and for no other.

Answered from memory, refreshed every few seconds: it runs for every verified package.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from cryptography import x509

from axis.federation.model import Peer
from axis.registry.model import Agency, AgencyState
from axis.trust.verdict import fingerprint

REFRESH_S = 5.0
MISS_REFRESH_S = 1.0


class PeerBindings:
    def __init__(self, peers: Callable[[], Sequence[Peer]],
                 agencies: Callable[[], Sequence[Agency]],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._peers = peers
        self._agencies = agencies
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._by_fingerprint: dict[str, frozenset[str]] = {}

    def _owners(self, fp: str) -> frozenset[str]:
        """The peers that name this certificate (one node may be reached two ways: the
        national axis and directly)."""
        with self._lock:
            age = self._monotonic() - self._at
            # Stale, or a miss a second after the last read (a peer added just now).
            if age > REFRESH_S or (fp not in self._by_fingerprint and age > MISS_REFRESH_S):
                owners: dict[str, set[str]] = {}
                for p in self._peers():
                    if p.active:
                        for f in p.node_certificates:
                            owners.setdefault(f, set()).add(p.name)
                self._by_fingerprint = {f: frozenset(n) for f, n in owners.items()}
                self._at = self._monotonic()
            return self._by_fingerprint.get(fp, frozenset())

    def agencies_for(self, cert: x509.Certificate) -> frozenset[str]:
        peers = self._owners(fingerprint(cert))
        if not peers:
            return frozenset()
        return frozenset(ident for a in self._agencies()
                         if a.peer in peers and a.state is not AgencyState.RETIRED
                         for ident in (a.agency_id, a.short_id))
