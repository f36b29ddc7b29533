"""Signing what the node emits: status packages and acknowledgements (Art. 7.1, 12.3).

Profile (the newer government template, spec §6): enveloped XMLDSig as the last child of
`edXMLHeader`, one `Reference URI=""` with the enveloped transform and exclusive C14N,
RSA-SHA256 (ECDSA-SHA256 for an EC key), SHA-256 digest, the certificate (and any chain
given) in `KeyInfo/X509Data`. xmlsec1 verifies what this writes (tests/test_trust_interop).

Packages from agencies are never signed or otherwise modified by the node: they are
forwarded byte-identical so that recipients verify the original signature themselves.
`sign_package` is for the node's own packages and for `axis pki sign` (test agencies).
"""

from __future__ import annotations

import fcntl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner

from axis import errors
from axis.edxml import reader, safexml
from axis.edxml.model import DSIG_NS
from axis.edxml.signature_probe import signature_elements
from axis.settings import EdxmlSettings, Settings
from axis.trust import pki
from axis.trust.verify import hardened_parser

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class NodeSigner:
    """Signs edXML packages with one key and certificate; thread-safe."""

    def __init__(
        self,
        key: SigningKey,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        limits: EdxmlSettings | None = None,
    ) -> None:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise errors.CONFIG_INVALID.error("the signing key must be RSA or EC")
        if _spki(key.public_key()) != _spki(cert.public_key()):
            raise errors.CONFIG_INVALID.error("the signing key does not match its certificate")
        self.key, self.cert, self.chain = key, cert, tuple(chain)
        self.limits = limits or EdxmlSettings()
        self.method = (SignatureMethod.RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey)
                       else SignatureMethod.ECDSA_SHA256)

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path, *,
                   limits: EdxmlSettings | None = None) -> NodeSigner:
        """The key (PEM, unencrypted) and the certificate, optionally followed by its
        intermediates (PEM), which then travel in KeyInfo too."""
        key = pki.load_key(key_path)
        certs = pki.load_certs(cert_path)
        if not certs:
            raise errors.CONFIG_INVALID.error(f"{cert_path}: no certificate")
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise errors.CONFIG_INVALID.error(f"{key_path}: the signing key must be RSA or EC")
        return cls(key, certs[0], certs[1:], limits=limits)

    def sign(self, raw: bytes) -> bytes:
        """The package, signed; any earlier signature or placeholder in the header goes."""
        root = safexml.parse(raw, self.limits)
        return etree.tostring(self.sign_tree(root), xml_declaration=True, encoding="UTF-8")

    def sign_tree(self, root: etree._Element) -> etree._Element:
        """A signed copy of `root`. `root` itself is consumed (its header is rearranged):
        pass a tree of your own, as `sign` does."""
        header, _, _ = reader.envelope_parts(root)
        for old in signature_elements(header):
            _remove_keeping_tail(header, old)
        slot = etree.SubElement(
            header, f"{{{DSIG_NS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DSIG_NS})
        _indent_like_siblings(slot)
        if root.get("Id") is not None or root.get("ID") is not None:
            # signxml would then sign "#id", which the verifier refuses (URI="" only).
            raise errors.SIGNING_FAILED.error("the edXML root carries an Id attribute")
        signer = _HardenedSigner(
            signature_algorithm=self.method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        try:
            signed: etree._Element = signer.sign(
                root, key=self.key, cert=[self.cert, *self.chain], reference_uri=None)
        except (SignXMLException, ValueError, TypeError) as exc:
            raise errors.SIGNING_FAILED.error(f"{type(exc).__name__}: {exc}") from exc
        return signed


class _HardenedSigner(XMLSigner):
    """signxml's signer re-parses the document with our parser: no entities, no network,
    and text nodes over 10 MB (a large attachment's base64) allowed."""

    @property
    def parser(self) -> etree.XMLParser:
        return hardened_parser()


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _remove_keeping_tail(parent: etree._Element, el: etree._Element) -> None:
    prev = el.getprevious()
    if el.tail and prev is not None:
        prev.tail = el.tail
    parent.remove(el)


def _indent_like_siblings(new: etree._Element) -> None:
    """Cosmetic: the signature takes the indentation its siblings have."""
    prev = new.getprevious()
    if prev is None or prev.tail is None or prev.tail.strip():
        return
    new.tail = prev.tail  # the closing tag's indentation moves after the signature
    before = prev.getprevious()
    if before is not None and before.tail is not None and not before.tail.strip():
        prev.tail = before.tail


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    key_path: Path
    cert_path: Path


def ensure_node_identity(data_dir: Path, at: datetime, *, name: str = "Axis node") -> NodeIdentity:
    """The embedded default: a key and a self-signed certificate under `data_dir/node/`,
    generated on first start and kept (key file mode 0600). Production configures
    `trust.node_key` / `trust.node_cert` with a certificate from the government CA."""
    directory = data_dir / "node"
    ident = NodeIdentity(directory / "node.key", directory / "node.pem")
    if ident.key_path.is_file() and ident.cert_path.is_file():
        return ident
    directory.mkdir(parents=True, exist_ok=True)
    # `axis serve` and `axis worker` may start together on a fresh data directory: one
    # of them makes the identity, under an exclusive lock, and the other reads it (two
    # makers would leave a key that does not match the certificate).
    with (directory / ".identity.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (ident.key_path.is_file() and ident.cert_path.is_file()):
            key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
            cert = pki.self_signed(key, pki.subject(name), at, days=3650)
            pki.write_key(ident.key_path, key)
            pki.write_cert(ident.cert_path, cert)
    return ident


def node_signer(settings: Settings, at: datetime) -> NodeSigner:
    """The composition root's way to get the node's signer from the settings."""
    t = settings.trust
    if (t.node_key is None) != (t.node_cert is None):
        raise errors.CONFIG_INVALID.error("set both trust.node_key and trust.node_cert")
    if t.node_key is not None and t.node_cert is not None:
        return NodeSigner.from_files(t.node_key, t.node_cert, limits=settings.edxml)
    ident = ensure_node_identity(settings.data_dir, at)
    return NodeSigner.from_files(ident.key_path, ident.cert_path, limits=settings.edxml)
