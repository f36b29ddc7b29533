"""Which agency a certificate speaks for: the port the registry will implement.

A signature proves possession of a key; Art. 7.1 asks for the origin of the document, so
the certificate must also be bound to the sending agency (`From/OrganId`). Two ways:

- by fingerprint (SHA-256 of the DER certificate), recorded by an administrator in the
  registry: works for any certificate, whatever its subject says;
- by subject attribute: the CA names the agency identifier in the certificate's subject,
  as an attribute `UID` (OID 0.9.2342.19200300.100.1.1) whose value is
  `AGENCY:<identifier>`, e.g. `UID=AGENCY:000.00.01.H37`. Vietnamese CAs already put
  typed identifiers in UID (`MST:…` tax code, `CMND:…`); `AGENCY:` follows that pattern
  for the QCVN 102 agency identifier. `axis pki issue` writes it. Only trusted because the
  chain was verified first: the CA vouches for the attribute.

The identifier is compared as written; the registry (a later issue) will map both forms
(`000.00.01.H37` and `H37.01`) to one agency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID

from axis.trust.verdict import fingerprint

AGENCY_PREFIX = "AGENCY:"
AGENCY_OID = NameOID.USER_ID


class CertificateBindings(Protocol):
    def agencies_for(self, cert: x509.Certificate) -> frozenset[str]:
        """Every agency identifier the certificate may sign for (empty: unbound). Runs for
        every verified package: implementations answer from memory or an index."""
        ...


def named_agencies(cert: x509.Certificate) -> frozenset[str]:
    """The agency identifiers the subject names (`UID=AGENCY:<id>`)."""
    out = set()
    for attr in cert.subject.get_attributes_for_oid(AGENCY_OID):
        value = attr.value if isinstance(attr.value, str) else attr.value.decode("utf-8", "replace")
        if value[: len(AGENCY_PREFIX)].upper() == AGENCY_PREFIX:
            agency = value[len(AGENCY_PREFIX) :].strip()
            if agency:
                out.add(agency)
    return frozenset(out)


class SubjectAttributeBindings:
    """Binds by what the CA wrote in the subject (remembered per certificate)."""

    def __init__(self) -> None:
        self._seen: dict[x509.Certificate, frozenset[str]] = {}  # certificates compare by DER

    def agencies_for(self, cert: x509.Certificate) -> frozenset[str]:
        found = self._seen.get(cert)
        if found is None:
            found = named_agencies(cert)
            if len(self._seen) >= 4096:
                self._seen.clear()
            self._seen[cert] = found
        return found


class FingerprintBindings:
    """Binds by fingerprint; in memory until the registry provides its own."""

    def __init__(self, bound: Mapping[str, Iterable[str]] | None = None) -> None:
        self._bound: dict[str, frozenset[str]] = {
            fp.lower().replace(":", ""): frozenset(ids) for fp, ids in (bound or {}).items()
        }

    def bind(self, fp: str, agency_id: str) -> None:
        key = fp.lower().replace(":", "")
        self._bound[key] = self._bound.get(key, frozenset()) | {agency_id}

    def agencies_for(self, cert: x509.Certificate) -> frozenset[str]:
        return self._bound.get(fingerprint(cert), frozenset()) if self._bound else frozenset()


class AnyBinding:
    """The union of several bindings: the default is fingerprint OR subject attribute."""

    def __init__(self, *parts: CertificateBindings) -> None:
        self.parts = parts

    def agencies_for(self, cert: x509.Certificate) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for part in self.parts:
            out |= part.agencies_for(cert)
        return out


def default_bindings(fingerprints: FingerprintBindings | None = None) -> AnyBinding:
    return AnyBinding(fingerprints or FingerprintBindings(), SubjectAttributeBindings())
