"""A test PKI built at test time, and helpers to sign real fixture packages.

Nothing is pre-baked: keys are generated with cryptography (cached per name for the
session, RSA generation being the slow part), certificates and CRLs are issued on the
fly relative to a fixed instant `AT`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from service_support import missing_service
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from axis.clock import VN_TZ
from axis.edxml import reader, safexml
from axis.edxml.model import DSIG_NS, NS
from axis.edxml.signature_probe import signature_elements
from axis.settings import EdxmlSettings
from axis.trust import pki
from axis.trust.algorithms import Profile
from axis.trust.bindings import CertificateBindings
from axis.trust.chain import TrustAnchors
from axis.trust.crl import CrlStore
from axis.trust.sign import NodeSigner
from axis.trust.verify import Verifier

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "edxml"
CASES = Path(__file__).resolve().parent / "cases" / "trust"
AT = datetime(2026, 6, 1, 9, 0, tzinfo=VN_TZ)
SENDER = "000.00.00.G22"  # From of edoc-business-first-zipped.edxml
OTHER = "000.00.00.H41"  # one of its recipients: "another agency"
BASE_PACKAGE = "edoc-business-first-zipped.edxml"  # 13 KB, one zipped attachment
LIMITS = EdxmlSettings()
DS = "{" + DSIG_NS + "}"


@functools.cache
def rsa_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """One key per name for the whole session (the name only keeps them apart)."""
    del name
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def fixture(name: str = BASE_PACKAGE) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Party:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def signer(self) -> NodeSigner:
        return NodeSigner(self.key, self.cert, self.chain)

    def sign(self, raw: bytes) -> bytes:
        return self.signer().sign(raw)

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.pem"
        pki.write_key(key_path, self.key)
        pki.write_cert(cert_path, self.cert, *self.chain)
        return key_path, cert_path


@dataclass
class World:
    """Root CA (critical basicConstraints, KeyUsage) → intermediate CA (basicConstraints
    NOT critical, NO KeyUsage: a government CA that is not WebPKI) → agencies."""

    base: Path
    at: datetime = AT
    parties: dict[str, Party] = field(default_factory=dict)

    def __post_init__(self) -> None:
        at = self.at
        self.root_key = rsa_key("root")
        self.root = pki.self_signed(self.root_key, pki.subject("Test Root CA"), at, ca=True)
        self.inter_key = rsa_key("intermediate")
        self.inter = pki.issue_cert(
            self.root_key, self.root, pki.subject("Test Government CA"),
            self.inter_key.public_key(), at, days=3000, ca=True, basic_constraints=False,
            key_usage=False,
        )
        self.anchors_dir = self.base / "anchors"
        self.anchors_dir.mkdir(parents=True, exist_ok=True)
        pki.write_cert(self.anchors_dir / "root.pem", self.root)
        pki.write_cert(self.anchors_dir / "intermediate.pem", self.inter)
        self.add("g22", agency_id=SENDER)
        self.add("h41", agency_id=OTHER, issuer="root")
        self.add("unnamed", agency_id=None)
        self.add("nokeyusage", agency_id=SENDER, key_usage=False)
        self.add("expired", agency_id=SENDER,
                 not_before=at - timedelta(days=400), not_after=at - timedelta(days=1))
        self.add("future", agency_id=SENDER,
                 not_before=at + timedelta(days=1), not_after=at + timedelta(days=400))
        self.add("revoked", agency_id=SENDER)
        attacker_key = rsa_key("attacker")
        self.parties["attacker"] = Party(attacker_key, pki.self_signed(
            attacker_key, pki.subject("Forged", agency_id=SENDER), at))
        self.crl_file = self.base / "intermediate.crl"
        crl = pki.make_crl(self.inter_key, self.inter,
                           [(self.parties["revoked"].cert.serial_number, at - timedelta(days=2))],
                           at - timedelta(hours=1))
        self.crl_file.write_bytes(crl.public_bytes(serialization.Encoding.DER))

    def add(self, name: str, *, agency_id: str | None, issuer: str = "intermediate",
            key_name: str | None = None, **kw: Any) -> Party:
        ikey, icert = ((self.root_key, self.root) if issuer == "root"
                       else (self.inter_key, self.inter))
        key = rsa_key(key_name or name)
        cert = pki.issue_cert(ikey, icert, pki.subject(f"Agency {name}", agency_id=agency_id),
                              key.public_key(), self.at, **kw)
        party = Party(key, cert, () if issuer == "root" else (self.inter,))
        self.parties[name] = party
        return party

    def __getitem__(self, name: str) -> Party:
        return self.parties[name]

    def anchors(self) -> TrustAnchors:
        return TrustAnchors.from_dir(self.anchors_dir)

    def crls(self, *, max_age_hours: int = 48, require_crl: bool = False,
             refreshed_at: datetime | None = None) -> CrlStore:
        store = CrlStore(self.anchors(), max_age=timedelta(hours=max_age_hours),
                         require_crl=require_crl)
        store.add_file(self.crl_file, refreshed_at or self.at)
        return store

    def verifier(self, *, allow_sha1: bool = False, crls: CrlStore | bool | None = True,
                 bindings: CertificateBindings | None = None) -> Verifier:
        store = self.crls() if crls is True else (crls or None)
        return Verifier(profile=Profile(allow_sha1=allow_sha1), anchors=self.anchors(),
                        bindings=bindings, crls=store, limits=LIMITS)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("trust-world")
    yield World(base)
    shutil.rmtree(base, ignore_errors=True)


# --- signing variants -------------------------------------------------------------------
class LegacySigner(XMLSigner):
    """signxml refuses to write SHA-1; the legacy national profile needs it in tests."""

    def check_deprecated_methods(self) -> None:
        return None


def sign_with(raw: bytes, party: Party, *, method: SignatureMethod = SignatureMethod.RSA_SHA256,
              digest: DigestAlgorithm = DigestAlgorithm.SHA256,
              c14n: CanonicalizationMethod = CanonicalizationMethod.CANONICAL_XML_1_0,
              c14n_transform: bool = False) -> bytes:
    """Sign with any profile (the legacy one: RSA-SHA1, SHA-1, inclusive C14N, enveloped
    transform only), the signature as last child of edXMLHeader."""
    root = safexml.parse(raw, LIMITS)
    header, _, _ = reader.envelope_parts(root)
    for old in signature_elements(header):
        header.remove(old)
    etree.SubElement(header, f"{{{DSIG_NS}}}Signature", {"Id": "placeholder"},
                     nsmap={"ds": DSIG_NS})
    signer = LegacySigner(signature_algorithm=method, digest_algorithm=digest,
                          c14n_algorithm=c14n)
    signed = signer.sign(root, key=party.key, cert=[party.cert, *party.chain],
                         exclude_c14n_transform_element=not c14n_transform)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def xmlsec_template(raw: bytes, *, legacy: bool) -> bytes:
    """The package with an empty signature template for `xmlsec1 --sign`."""
    root = safexml.parse(raw, LIMITS)
    header, _, _ = reader.envelope_parts(root)
    for old in signature_elements(header):
        header.remove(old)
    c14n = ("http://www.w3.org/TR/2001/REC-xml-c14n-20010315" if legacy
            else "http://www.w3.org/2001/10/xml-exc-c14n#")
    method = ("http://www.w3.org/2000/09/xmldsig#rsa-sha1" if legacy
              else "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    digest = ("http://www.w3.org/2000/09/xmldsig#sha1" if legacy
              else "http://www.w3.org/2001/04/xmlenc#sha256")
    extra = "" if legacy else f'<ds:Transform Algorithm="{c14n}"/>'
    template = (
        f'<ds:Signature xmlns:ds="{DSIG_NS}"><ds:SignedInfo>'
        f'<ds:CanonicalizationMethod Algorithm="{c14n}"/>'
        f'<ds:SignatureMethod Algorithm="{method}"/>'
        '<ds:Reference URI=""><ds:Transforms>'
        '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        f'{extra}</ds:Transforms><ds:DigestMethod Algorithm="{digest}"/>'
        '<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>'
        '<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>'
    )
    header.append(etree.fromstring(template))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def xmlsec1() -> str | None:
    """The xmlsec1 binary; missing → skip on a laptop, fail in CI (CI=true)."""
    found = shutil.which("xmlsec1")
    if found is None:
        missing_service("xmlsec1 not installed (tools/install-system-deps.sh installs it)")
    return found


# --- tree surgery for the attacks -------------------------------------------------------
def parse(raw: bytes) -> etree._Element:
    return safexml.parse(raw, LIMITS)


def serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def header_of(root: etree._Element) -> etree._Element:
    header, _, _ = reader.envelope_parts(root)
    return header


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1, old
    return data.replace(old, new, 1)


def sign_reference(w: World, uri: str, content: bytes, *, transforms: tuple[str, ...] = ()
                   ) -> bytes:
    """A cryptographically valid signature whose one Reference points at `uri`, with the
    digest of `content` (what a verifier that dereferences `uri` would find there)."""
    party = w["g22"]
    root = parse(fixture())
    header = header_of(root)
    for old in list(header):
        if isinstance(old.tag, str) and etree.QName(old).localname == "Signature":
            header.remove(old)
    sig = etree.SubElement(header, DS + "Signature", nsmap={"ds": DSIG_NS})
    info = etree.SubElement(sig, DS + "SignedInfo")
    etree.SubElement(info, DS + "CanonicalizationMethod",
                     Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    etree.SubElement(info, DS + "SignatureMethod",
                     Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    ref = etree.SubElement(info, DS + "Reference", URI=uri)
    if transforms:
        holder = etree.SubElement(ref, DS + "Transforms")
        for alg in transforms:
            etree.SubElement(holder, DS + "Transform", Algorithm=alg)
    etree.SubElement(ref, DS + "DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    etree.SubElement(ref, DS + "DigestValue").text = base64.b64encode(
        hashlib.sha256(content).digest()).decode()
    c14n = etree.tostring(info, method="c14n", exclusive=True)
    value = party.key.sign(c14n, padding.PKCS1v15(), hashes.SHA256())
    etree.SubElement(sig, DS + "SignatureValue").text = base64.b64encode(value).decode()
    data = etree.SubElement(etree.SubElement(sig, DS + "KeyInfo"), DS + "X509Data")
    etree.SubElement(data, DS + "X509Certificate").text = base64.b64encode(
        party.cert.public_bytes(serialization.Encoding.DER)).decode()
    return serialize(root)


SECRET = b"<secret>what an attacker wants the verifier to read</secret>"
