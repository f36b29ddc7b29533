"""A test PKI: a CA, agency certificates, CRLs, and the node's own key files.

For tests, the demo and agencies trying the node (`axis pki init/issue`), never for
production trust: the government CA issues real certificates. Agency certificates name
the agency in the subject as `UID=AGENCY:<identifier>` (see bindings.py), which is what
binds them to that agency. Knobs exist for what tests must prove: expired and
not-yet-valid certificates, leaves without KeyUsage, CAs whose basicConstraints are not
critical (government CAs are not WebPKI).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from axis import errors
from axis.trust.bindings import AGENCY_OID, AGENCY_PREFIX

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
AGENCY_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def new_key(kind: str = "rsa", bits: int = 2048) -> Key:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def subject(common_name: str, *, agency_id: str | None = None,
            organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if agency_id:
        attrs.append(x509.NameAttribute(AGENCY_OID, AGENCY_PREFIX + agency_id))
    return x509.Name(attrs)


def issue_cert(
    issuer_key: Key,
    issuer: x509.Certificate | None,
    name: x509.Name,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    at: datetime,
    *,
    days: int = 365,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ca: bool = False,
    path_length: int | None = None,
    basic_constraints: bool | None = True,  # True: critical, False: not critical, None: absent
    key_usage: bool = True,
    serial: int | None = None,
) -> x509.Certificate:
    """A certificate issued by `issuer` (None: self-signed with `issuer_key`)."""
    start = not_before or at - timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer is not None else name)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if basic_constraints is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
            critical=basic_constraints,
        )
    if key_usage:
        builder = builder.add_extension(_key_usage(ca), critical=True)
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def self_signed(key: Key, name: x509.Name, at: datetime, *, days: int = 3650,
                ca: bool = False, **kw: object) -> x509.Certificate:
    return issue_cert(key, None, name, key.public_key(), at, days=days, ca=ca, **kw)  # type: ignore[arg-type]


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=not ca, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )


def make_crl(
    issuer_key: Key,
    issuer: x509.Certificate,
    revoked: Iterable[tuple[int, datetime]],
    at: datetime,
    *,
    next_update: datetime | None = None,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(at)
        .next_update(next_update or at + timedelta(days=7))
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(issuer_key, hashes.SHA256())


# --- files ------------------------------------------------------------------------------
def write_key(path: Path, key: Key) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_cert(path: Path, *certs: x509.Certificate) -> None:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))


def load_key(path: Path) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise errors.CONFIG_INVALID.error(f"private key {path}: {exc}") from exc


def load_certs(path: Path) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise errors.CONFIG_INVALID.error(f"certificate {path}: {exc}") from exc
    return list(certs)


# --- `axis pki init` / `axis pki issue` -------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeyPair:
    cert_path: Path
    key_path: Path


def init_ca(directory: Path, at: datetime, *, name: str = "Axis Test CA") -> KeyPair:
    """`DIR/ca.pem`, `DIR/ca.key`: a root valid ten years from `at`."""
    directory.mkdir(parents=True, exist_ok=True)
    out = KeyPair(directory / "ca.pem", directory / "ca.key")
    key = new_key(bits=3072)
    cert = self_signed(key, subject(name, organization="Axis test PKI"), at, ca=True)
    write_key(out.key_path, key)
    write_cert(out.cert_path, cert)
    return out


def issue(directory: Path, agency_id: str, at: datetime, *, days: int = 365,
          common_name: str | None = None) -> KeyPair:
    """`DIR/<agency>.pem` and `.key`, issued by `DIR/ca.pem`, naming the agency."""
    if not AGENCY_FILE_NAME.fullmatch(agency_id):
        raise errors.CONFIG_INVALID.error(f"agency identifier {agency_id!r}: unusual characters")
    ca_key = load_key(directory / "ca.key")
    ca_cert = load_certs(directory / "ca.pem")[0]
    if not isinstance(ca_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise errors.CONFIG_INVALID.error("the CA key must be RSA or EC")
    key = new_key()
    cert = issue_cert(
        ca_key, ca_cert, subject(common_name or f"Agency {agency_id}", agency_id=agency_id),
        key.public_key(), at, days=days,
    )
    out = KeyPair(directory / f"{agency_id}.pem", directory / f"{agency_id}.key")
    write_key(out.key_path, key)
    write_cert(out.cert_path, cert)
    return out
