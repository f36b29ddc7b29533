"""The registry as the trust stage's `CertificateBindings`: which agency a certificate
may sign for, by the fingerprints administrators bound (Art. 7.1: origin, not only
possession of a key)."""

from __future__ import annotations

from typing import Protocol

from cryptography import x509

from axis.registry.model import Agency, AgencyState
from axis.trust.verdict import fingerprint


class CertificateOwners(Protocol):
    """The one query the bindings need (`RegistryStore` and `Registry` both answer it)."""

    def agency_for_certificate(self, fingerprint: str) -> Agency | None: ...


class RegistryBindings:
    """Both identifier forms of the bound agency, so that a package naming either form
    in `From/OrganId` matches. A retired agency's certificate speaks for no one: retired
    is final. A suspended agency's still binds; the policy stage refuses the sender."""

    def __init__(self, store: CertificateOwners) -> None:
        self._store = store

    def agencies_for(self, cert: x509.Certificate) -> frozenset[str]:
        agency = self._store.agency_for_certificate(fingerprint(cert))
        if agency is None or agency.state is AgencyState.RETIRED:
            return frozenset()
        return frozenset({agency.agency_id, agency.short_id})
