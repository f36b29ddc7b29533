"""Verification of a package's enveloped XMLDSig signature (Art. 7.1, 12.3).

`Verifier.verify(raw, at)` parses with the hardened parser, classifies the signature
(absent / placeholder / present), checks its structure, the signer's chain at the time of
receipt, revocation, the signature itself (signxml), and that the certificate is bound to
the agency named in the SIGNED `From/OrganId`. It returns a `Verdict`; refusing is the
policy's job (`policy.decide`).

"Trust only what was signed": a verified verdict carries `signed_root`, signxml's
`signed_xml`: the canonical form of what the digest covered, re-parsed. The C14N methods
allowed here drop comments, so a comment injected inside a signed value
(`<OrganId>000.00.01.H37<!--x-->1</OrganId>`, which leaves the signature valid) is gone in
`signed_root` and the text reads whole as it was signed; reading `.text` of the raw tree
would stop at the comment. Later stages read `signed_root` and nothing else.

The reference digest itself is streamed (issue 9): `streamed.OwnTreeVerifier`.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration

from axis import errors
from axis.clock import as_vietnam
from axis.edxml import reader, safexml
from axis.edxml.model import NS, SignatureState
from axis.edxml.signature_probe import probe_signature
from axis.settings import EdxmlSettings, Settings
from axis.trust import structure
from axis.trust.algorithms import Profile
from axis.trust.bindings import CertificateBindings, default_bindings, named_agencies
from axis.trust.chain import ChainValidator, TrustAnchors
from axis.trust.crl import CrlStore
from axis.trust.streamed import OwnTreeVerifier
from axis.trust.verdict import Revocation, SignerInfo, State, Verdict, fingerprint

Element = etree._Element

_LOCATION = f"./{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader/"
_CERT_CACHE_LIMIT = 4096


def hardened_parser() -> etree.XMLParser:
    """For signxml's own re-parsing: no entities, no DTD, no network; big base64 text.
    One per thread (an lxml parser must not be shared between threads)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


_local = threading.local()


@dataclass(frozen=True, slots=True)
class _Known:
    """A certificate met in a KeyInfo, with what is derived from it once."""

    cert: x509.Certificate
    fingerprint: str
    signer: SignerInfo
    rsa_bits: int | None


class Verifier:
    """Built once at start-up with the pinned configuration; thread-safe."""

    def __init__(
        self,
        *,
        profile: Profile,
        anchors: TrustAnchors,
        bindings: CertificateBindings | None = None,
        crls: CrlStore | None = None,
        limits: EdxmlSettings | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        self.profile = profile
        # Where the canonical form of a large package is spooled while it is verified
        # (the node's data directory, not a tmpfs); None: the system's temporary directory.
        self.spool_dir = spool_dir
        self.anchors = anchors
        self.chains = ChainValidator(anchors)
        self.bindings = bindings if bindings is not None else default_bindings()
        self.crls = crls
        self.limits = limits or EdxmlSettings()
        self._config = SignatureConfiguration(
            require_x509=True,
            location=_LOCATION,
            expect_references=1,
            signature_methods=profile.signature_methods,
            digest_algorithms=profile.digests,
            # Whole-document references without an explicit C14N transform: XMLDSig's
            # default is inclusive C14N 1.0 (the legacy national profile relies on it).
            default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
        )
        self._certs: dict[str, _Known] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        anchors: TrustAnchors | None = None,
        bindings: CertificateBindings | None = None,
        crls: CrlStore | None = None,
    ) -> Verifier:
        return cls(
            profile=Profile(allow_sha1=settings.trust.allow_sha1),
            anchors=anchors if anchors is not None else TrustAnchors.from_dir(
                settings.trust.anchors_dir),
            bindings=bindings,
            crls=crls,
            limits=settings.edxml,
            spool_dir=settings.data_dir / "spool",
        )

    # --- the stage ----------------------------------------------------------------------
    def verify(self, raw: bytes, at: datetime) -> Verdict:
        """Bytes that are no XML package raise the parser's `edxml.*` error."""
        root, lifted = safexml.parse_lifted(raw, self.limits)
        return self.verify_tree(root, at, release=True, lifted=lifted)

    def verify_tree(self, root: Element, at: datetime, *, release: bool = False,
                    lifted: safexml.Lifted | None = None) -> Verdict:
        """`root` must come from `safexml.parse` and is not read again by anyone after a
        signature was verified: the enveloped transform is applied to it in place, and
        with `release` its content is dropped once digested (issue 9: the original and
        the signed tree of a large package are never held together). `lifted`: what
        `safexml.parse_lifted` left out of `root`, handed on in the verdict."""
        at = as_vietnam(at)
        header, _, _ = reader.envelope_parts(root)
        state = probe_signature(header)
        if state is not SignatureState.PRESENT:
            if structure.dsig_signatures(root):  # a real signature, but not where it belongs
                return _invalid(errors.SIGNATURE_STRUCTURE.error(
                    "an xmldsig Signature outside its place (last child of edXMLHeader)"))
            if state is SignatureState.ABSENT:
                return Verdict(State.ABSENT, errors.SIGNATURE_ABSENT, "no signature",
                               unsigned_root=root, lifted=lifted)
            return Verdict(State.PLACEHOLDER, errors.SIGNATURE_PLACEHOLDER,
                           "placeholder signature (spec §6)", unsigned_root=root,
                           lifted=lifted)
        signer: SignerInfo | None = None
        try:
            shape = structure.check(root, header, self.profile)
            known = self._leaf(shape.certificates)
            leaf, fp, signer = known.cert, known.fingerprint, known.signer
            self._check_key(known)
            chain = self.chains.validate(leaf, at, fp=fp)
            revocation = (self.crls.check(chain, at) if self.crls is not None
                          else Revocation.UNCHECKED)
            signed_root = self._verify_signature(root, leaf, at, release=release,
                                                 lifted=lifted)
            sender = sender_of(signed_root)
            if not sender:
                raise errors.SIGNER_NOT_SENDER.error("the signed package names no sender")
            agencies = self.bindings.agencies_for(leaf)
            if not agencies:
                raise errors.SIGNER_UNBOUND.error(
                    f"{signer.subject} ({fp}) is bound to no agency")
            if sender not in agencies:
                raise errors.SIGNER_NOT_SENDER.error(
                    f"signed by {', '.join(sorted(agencies))}, sent as {sender!r}")
        except errors.AxisError as exc:
            if not exc.code.id.startswith("trust."):
                raise
            return _invalid(exc, signer)
        return Verdict(
            State.VERIFIED,
            legacy_sha1=shape.legacy_sha1,
            signer=replace(signer, agency_id=sender),
            revocation=revocation,
            signed_root=signed_root,
            lifted=lifted,
        )

    # --- steps --------------------------------------------------------------------------
    def _leaf(self, texts: tuple[str, ...]) -> _Known:
        certs = [self._certificate(t) for t in texts]
        if len(certs) == 1:
            return certs[0]
        # Several: the leaf is the one no other certificate of the set names as its issuer.
        # Only the leaf is used; chains are built from installed certificates alone.
        subjects = {k.cert.subject.public_bytes() for k in certs}
        issuers = {k.cert.issuer.public_bytes() for k in certs
                   if k.cert.issuer != k.cert.subject}
        leaves = [k for k in certs if k.cert.subject.public_bytes() not in issuers]
        if len(leaves) != 1 or len(subjects) != len(certs):
            raise errors.SIGNATURE_STRUCTURE.error("cannot tell the signer's certificate apart")
        return leaves[0]

    def _certificate(self, text: str) -> _Known:
        """Parsed once per distinct certificate (agencies sign with a handful of them):
        the DER decoding, fingerprint, names and key size are not recomputed per package."""
        hit = self._certs.get(text)
        if hit is None:
            try:
                cert = x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
                key = cert.public_key()
            except (ValueError, binascii.Error) as exc:
                raise errors.SIGNATURE_STRUCTURE.error(f"unreadable certificate: {exc}") from exc
            hit = _Known(cert, fingerprint(cert), SignerInfo.of(cert, _one(named_agencies(cert))),
                         key.key_size if isinstance(key, rsa.RSAPublicKey) else None)
            with self._lock:
                if len(self._certs) >= _CERT_CACHE_LIMIT:
                    self._certs.clear()
                self._certs[text] = hit
        return hit

    def _check_key(self, known: _Known) -> None:
        if known.rsa_bits is not None and known.rsa_bits < self.profile.min_rsa_bits:
            raise errors.ALGORITHM_FORBIDDEN.error(
                f"RSA key of {known.rsa_bits} bits < {self.profile.min_rsa_bits}")

    def _verify_signature(self, root: Element, leaf: x509.Certificate, at: datetime, *,
                          release: bool = False,
                          lifted: safexml.Lifted | None = None) -> Element:
        config = replace(self._config, verification_time=at.astimezone(UTC))
        try:
            result = OwnTreeVerifier(spool_dir=self.spool_dir, release_root=release,
                                      lifted=lifted).verify(
                root, x509_cert=leaf, expect_config=config, parser=hardened_parser())
        except (SignXMLException, etree.LxmlError, ValueError, TypeError) as exc:
            # InvalidDigest (content altered), InvalidSignature (value wrong), schema of
            # the Signature element, key/method mismatch, malformed base64 …
            raise errors.SIGNATURE_INVALID.error(f"{type(exc).__name__}: {exc}"[:500]) from exc
        signed = result.signed_xml if not isinstance(result, list) else None
        if signed is None or signed.tag != f"{{{NS}}}edXML":
            raise errors.SIGNATURE_INVALID.error("the signed content is not the edXML document")
        return signed


def sender_of(root: Element) -> str:
    """`From/OrganId`, read like the edXML reader reads it (first, stripped); "" if none.

    Called on `signed_root` for the binding check. (On an unsigned tree it is only a
    claim, good enough to look the sender up in the migration exception list.)"""
    # Step by step with `find` (first matching child), as reader.envelope_parts,
    # detect_kind and Reader.organ choose: `Status` before `MessageHeader`, first `From`,
    # first `OrganId`, text stripped.
    if root.tag != _EDXML:
        return ""
    node = root.find(_ENVELOPE)
    node = node.find(_HEADER) if node is not None else None
    if node is None:
        return ""
    message = node.find(_STATUS)
    if message is None:
        message = node.find(_MESSAGE)
    sender = message.find(_FROM) if message is not None else None
    organ = sender.find(_ORGAN_ID) if sender is not None else None
    return (organ.text or "").strip() if organ is not None else ""


_EDXML, _ENVELOPE, _HEADER, _STATUS, _MESSAGE, _FROM, _ORGAN_ID = (
    f"{{{NS}}}{n}" for n in (
        "edXML", "edXMLEnvelope", "edXMLHeader", "Status", "MessageHeader", "From", "OrganId"))


def _one(agencies: frozenset[str]) -> str | None:
    return next(iter(agencies)) if len(agencies) == 1 else None


def _invalid(exc: errors.AxisError, signer: SignerInfo | None = None) -> Verdict:
    return Verdict(State.INVALID, exc.code, exc.detail, signer=signer)
