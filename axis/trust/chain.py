"""Whose key: the signer's certificate must chain to an anchor the operator installed.

Anchors are the certificates in `trust.anchors_dir` (`*.pem`, `*.crt`, `*.cer`: roots and
intermediates of the government CAs). The signer's issuer must be one of them; the walk
then goes on upward through the installed certificates, checking each link, up to a
self-signed root, or to an installed intermediate whose issuer is not installed (the
operator chose to anchor there). If an installed issuer exists but does not validly issue
the certificate below it, the chain is refused rather than cut short.

Why a small walker of our own rather than cryptography's `x509.verification` or
pyhanko-certvalidator: both apply a profile that Vietnamese government CAs do not meet
(the WebPKI profile needs KeyUsage on leaves and critical basicConstraints on CAs, limits
signature hashes and key sizes, wants SANs). The issue requires those certificates to be
accepted when they chain. The walker checks what establishes trust and nothing more:
issuer name match and the issuer's signature (`verify_directly_issued_by`), validity at
the time of receipt for every certificate, `cA` when basicConstraints is present (any
criticality), `keyCertSign` when an issuer has KeyUsage, pathLenConstraint, a bounded
depth. Intermediates carried in the package's `KeyInfo` are ignored: only installed
certificates can issue, so an end-entity certificate can never act as a CA.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from axis import errors
from axis.trust.verdict import fingerprint

MAX_DEPTH = 8  # leaf + intermediates + root; government hierarchies use 2–3
_SUFFIXES = (".pem", ".crt", ".cer")
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Chain:
    """Leaf first, then each issuer up to the last installed certificate."""

    certs: tuple[x509.Certificate, ...]
    # (not before, not after) of each certificate: read once, checked at every receipt.
    windows: tuple[tuple[datetime, datetime], ...] = ()

    def __post_init__(self) -> None:
        if not self.windows:
            object.__setattr__(self, "windows", tuple(
                (c.not_valid_before_utc, c.not_valid_after_utc) for c in self.certs))

    @property
    def leaf(self) -> x509.Certificate:
        return self.certs[0]

    def pairs(self) -> Iterable[tuple[x509.Certificate, x509.Certificate]]:
        """(certificate, its issuer) for each link: what revocation is checked on."""
        return zip(self.certs, self.certs[1:], strict=False)


class TrustAnchors:
    """The installed certificates, indexed by subject. Immutable after construction."""

    def __init__(self, certs: Iterable[x509.Certificate]) -> None:
        unique = {fingerprint(c): c for c in certs}
        self.certs: tuple[x509.Certificate, ...] = tuple(unique.values())
        self.fingerprints = frozenset(unique)
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for c in self.certs:
            self._by_subject.setdefault(c.subject.public_bytes(), []).append(c)

    @classmethod
    def from_dir(cls, directory: Path) -> TrustAnchors:
        """Load every certificate file of the directory; a broken file is a config error."""
        files = sorted(p for p in directory.glob("*") if p.suffix.lower() in _SUFFIXES)
        return cls.from_files(files)

    @classmethod
    def from_files(cls, files: Iterable[Path]) -> TrustAnchors:
        certs: list[x509.Certificate] = []
        for path in files:
            certs.extend(load_certificates(path))
        return cls(certs)

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        return self._by_subject.get(cert.issuer.public_bytes(), [])

    def __len__(self) -> int:
        return len(self.certs)


def load_certificates(path: Path) -> list[x509.Certificate]:
    """PEM (one or more) or DER; `node.config_invalid` when unreadable."""
    try:
        data = path.read_bytes()
        if b"-----BEGIN" in data:
            return list(x509.load_pem_x509_certificates(data))
        return [x509.load_der_x509_certificate(data)]
    except (OSError, ValueError) as exc:
        raise errors.CONFIG_INVALID.error(f"trust anchor {path}: {exc}") from exc


class ChainValidator:
    """Builds and checks paths; the path (signature checks) is cached per leaf."""

    def __init__(self, anchors: TrustAnchors) -> None:
        self.anchors = anchors
        self._paths: dict[str, Chain | errors.AxisError] = {}
        self._lock = threading.Lock()

    def validate(self, leaf: x509.Certificate, at: datetime, *, fp: str | None = None) -> Chain:
        """The chain of `leaf`, valid at `at`, or the `trust.certificate_*` error."""
        key = fp or fingerprint(leaf)
        found = self._paths.get(key)
        if found is None:
            try:
                found = self._build(leaf)
            except errors.AxisError as exc:
                found = exc
            with self._lock:
                if len(self._paths) >= _CACHE_LIMIT:
                    self._paths.clear()
                self._paths[key] = found
        if isinstance(found, errors.AxisError):
            raise found.code.error(found.detail)
        _check_validity(found, at)
        return found

    def _build(self, leaf: x509.Certificate) -> Chain:
        _check_leaf_usage(leaf)
        path = [leaf]
        if fingerprint(leaf) in self.anchors.fingerprints:
            return Chain((leaf,))
        current = leaf
        while len(path) < MAX_DEPTH:
            issuer = self._issuer(current, cas_below=len(path) - 1)
            if issuer is None:
                if current is leaf:
                    raise errors.CERTIFICATE_UNTRUSTED.error(
                        f"no installed issuer signed {_name(leaf)} (issuer {_name(leaf, True)})"
                    )
                if current.issuer != current.subject and self.anchors.issuers_of(current):
                    # Its issuer is installed but refuses it (pathLenConstraint, cA false,
                    # keyCertSign missing, bad signature): never silently cut the chain.
                    raise errors.CERTIFICATE_UNTRUSTED.error(
                        f"installed issuer {_name(current, True)} does not validly issue "
                        f"{_name(current)}"
                    )
                break  # an installed intermediate whose own issuer is not installed
            if any(issuer is c for c in path):
                break  # self-signed root, or a loop between installed certificates
            path.append(issuer)
            current = issuer
        return Chain(tuple(path))

    def _issuer(self, cert: x509.Certificate, cas_below: int) -> x509.Certificate | None:
        for cand in self.anchors.issuers_of(cert):
            if not _may_issue(cand, cas_below):
                continue
            try:
                cert.verify_directly_issued_by(cand)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return cand
        return None


def _may_issue(ca: x509.Certificate, cas_below: int) -> bool:
    """basicConstraints and KeyUsage are honoured when present, whatever their criticality."""
    try:
        bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None  # v1 roots and some old government CAs: installed, so trusted to issue
    if bc is not None:
        if not bc.ca:
            return False
        if bc.path_length is not None and cas_below > bc.path_length:
            return False
    try:
        ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(ku.key_cert_sign)


def _check_leaf_usage(leaf: x509.Certificate) -> None:
    """A leaf without KeyUsage is accepted (issue: government CAs are not WebPKI)."""
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    except ValueError as exc:  # a malformed extension
        raise errors.CERTIFICATE_UNTRUSTED.error(f"unreadable extensions: {exc}") from exc
    if not (ku.digital_signature or ku.content_commitment):
        raise errors.CERTIFICATE_UNTRUSTED.error(
            "KeyUsage allows neither digitalSignature nor nonRepudiation"
        )


def _check_validity(chain: Chain, at: datetime) -> None:
    """Art. 7.1: a certificate is judged at the time of receipt, for every link."""
    for i, (start, end) in enumerate(chain.windows):
        if start <= at <= end:
            continue
        who = "signer certificate" if i == 0 else f"issuer certificate {_name(chain.certs[i])}"
        if at < start:
            raise errors.CERTIFICATE_NOT_YET_VALID.error(f"{who} is valid from {start.isoformat()}")
        raise errors.CERTIFICATE_EXPIRED.error(f"{who} expired {end.isoformat()}")


def _name(cert: x509.Certificate, issuer: bool = False) -> str:
    try:
        return (cert.issuer if issuer else cert.subject).rfc4514_string()
    except ValueError:
        return "<unreadable name>"
