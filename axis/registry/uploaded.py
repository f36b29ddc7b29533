"""A signing certificate an administrator uploads to bind to an agency (Art. 7.1: its
signatures then count as the agency's): read once from PEM, bound by its SHA-256. The
admin API and the console both read uploads here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from axis import errors
from axis.trust.verdict import fingerprint


@dataclass(frozen=True, slots=True)
class UploadedCertificate:
    fingerprint: str  # SHA-256 of the DER, lower-case hex: what the registry binds
    subject: str  # RFC 4514
    not_after: datetime


def read_pem(pem: str) -> UploadedCertificate:
    """The certificate in `pem`; registry.invalid_certificate when it is not one."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except ValueError as exc:
        raise errors.REGISTRY_INVALID_CERTIFICATE.error(f"not a PEM certificate: {exc}"
                                                        ) from exc
    return UploadedCertificate(fingerprint(cert), cert.subject.rfc4514_string(),
                               cert.not_valid_after_utc)
