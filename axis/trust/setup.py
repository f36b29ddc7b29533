"""Building the trust stage from the settings, once, at start-up (the composition root's
helper), and the CRL refresh job the server schedules.

Configuration is pinned here: the algorithm profile, the anchors of `trust.anchors_dir`,
the CRL sources, the migration exception list. Nothing changes per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from axis.edxml.validate import Validator
from axis.settings import Settings
from axis.trust.bindings import CertificateBindings
from axis.trust.chain import TrustAnchors
from axis.trust.crl import CrlRefresher, CrlStore, RefreshReport
from axis.trust.policy import TrustPolicy
from axis.trust.signed import TrustedPackage, verify_and_read
from axis.trust.verify import Verifier


@dataclass(frozen=True, slots=True)
class TrustStage:
    verifier: Verifier
    policy: TrustPolicy
    crls: CrlStore
    refresher: CrlRefresher
    startup: RefreshReport  # what loading the CRLs at start-up found (log it)
    validator: Validator

    def __call__(self, raw: bytes, at: datetime) -> TrustedPackage:
        """The pipeline's stage: refuse (raise), or the package read from what was signed."""
        return verify_and_read(raw, at, verifier=self.verifier, validator=self.validator,
                               policy=self.policy)


def build(
    settings: Settings, at: datetime, *, bindings: CertificateBindings | None = None
) -> TrustStage:
    """Anchors, CRLs (configured files and the cached copies of configured URLs, without
    the network), policy and verifier. `bindings`: the registry's, once it exists; by
    default the certificate's subject attribute (bindings.py)."""
    t = settings.trust
    anchors = TrustAnchors.from_dir(t.anchors_dir)
    crls = CrlStore(anchors, max_age=timedelta(hours=t.crl_max_age_hours),
                    require_crl=t.require_crl)
    refresher = CrlRefresher(crls, files=t.crl_files, urls=t.crl_urls,
                             cache_dir=settings.data_dir / "trust" / "crl")
    startup = refresher.start(at)
    verifier = Verifier.from_settings(settings, anchors=anchors, bindings=bindings, crls=crls)
    return TrustStage(verifier, TrustPolicy.from_settings(t), crls, refresher, startup,
                      Validator(settings.edxml))
