"""The outcome of the trust stage: a verdict about one package's signature.

Art. 7.1 and 12.3 require authenticity of origin and integrity for every document. The
verdict says which of the four cases a package is in and, when it is `verified`, carries
the only tree later stages may read: `signed_root`, the content the signature covers,
re-parsed from its canonical form (no comments, no signature, nothing unsigned).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from axis.edxml.safexml import Lifted
from axis.errors import Code


class State(StrEnum):
    VERIFIED = "verified"
    ABSENT = "absent"
    PLACEHOLDER = "placeholder"  # spec §6: the fake the sample packages carry
    INVALID = "invalid"


class Revocation(StrEnum):
    """How revocation was established for a verified signer's chain."""

    GOOD = "good"  # every certificate checked against a fresh CRL of its issuer
    UNCHECKED = "unchecked"  # some issuer has no CRL configured (allowed unless require_crl)
    NOT_APPLICABLE = "n/a"  # nothing was verified


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER encoding, lower-case hex: the key certificates are bound by."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


@dataclass(frozen=True, slots=True)
class SignerInfo:
    subject: str  # RFC 4514
    fingerprint: str  # SHA-256 hex of the DER certificate
    # The agency the certificate is bound to and that sent the package (verified), or the
    # agency the certificate names, when known, for a refusal report.
    agency_id: str | None
    issuer: str = ""
    serial: str = ""

    @classmethod
    def of(cls, cert: x509.Certificate, agency_id: str | None) -> SignerInfo:
        return cls(
            subject=_rfc4514(cert.subject),
            fingerprint=fingerprint(cert),
            agency_id=agency_id,
            issuer=_rfc4514(cert.issuer),
            serial=format(cert.serial_number, "x"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "fingerprint": self.fingerprint,
                "agency": self.agency_id}


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    code: Code | None = None  # None only when verified
    reason: str = ""
    legacy_sha1: bool = False  # admitted under trust.allow_sha1 (RSA-SHA1 / SHA-1 digests)
    signer: SignerInfo | None = None
    revocation: Revocation = Revocation.NOT_APPLICABLE
    # Verified: the signed content, the ONLY tree routing, policy, storage and journal
    # may read. Everything else: None.
    signed_root: etree._Element | None = None
    # Absent or placeholder: the package as received. Nothing in it is signed; it may be
    # read only after policy admitted it (a migration exception for its sender).
    unsigned_root: etree._Element | None = None
    # Attachment texts the parser left in the package bytes (issue 9): the tree holds a
    # placeholder for each, the same in `signed_root` (safexml.Lifted says why that is
    # the same document).
    lifted: Lifted | None = None

    @property
    def verified(self) -> bool:
        return self.state is State.VERIFIED

    def as_dict(self) -> dict[str, Any]:
        """The report form shared by `axis pki verify` and `axis edxml check`."""
        return {
            "signature": self.state.value,
            "code": self.code.id if self.code else None,
            "reason": self.reason,
            "legacy_sha1": self.legacy_sha1,
            "revocation": self.revocation.value,
            "signer": self.signer.as_dict() if self.signer else None,
        }


def _rfc4514(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:  # an attribute cryptography cannot render
        return "<unreadable name>"
