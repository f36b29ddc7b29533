"""The algorithm allow-list, fixed once at start-up from `trust.allow_sha1`.

Defaults (the newer government templates, spec §6): RSA-SHA256/384/512 and
ECDSA-SHA256/384 signatures, SHA-256/384/512 digests, inclusive (1.0, 1.1) and exclusive
C14N. The legacy national profile (RSA-SHA1, SHA-1 digests, inclusive C14N) is admitted
only when the operator turns `trust.allow_sha1` on; the verdict then says `legacy_sha1`.

C14N "#WithComments" variants are refused: comments would then be part of the signed
content and could split the text of a signed routing key (see verify.py), and no producer
in the field uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from axis import errors

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

C14N: frozenset[str] = frozenset({
    CanonicalizationMethod.CANONICAL_XML_1_0.value,
    CanonicalizationMethod.CANONICAL_XML_1_1.value,
    CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value,
})
SIGNATURE_METHODS: frozenset[SignatureMethod] = frozenset({
    SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512,
    SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384,
})
DIGESTS: frozenset[DigestAlgorithm] = frozenset({
    DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512,
})
LEGACY_SIGNATURE_METHODS: frozenset[SignatureMethod] = frozenset({SignatureMethod.RSA_SHA1})
LEGACY_DIGESTS: frozenset[DigestAlgorithm] = frozenset({DigestAlgorithm.SHA1})

# RSA keys shorter than this are refused; the legacy profile tolerates 1024-bit keys of
# old national certificates only when SHA-1 is admitted at all.
MIN_RSA_BITS = 2048
MIN_RSA_BITS_LEGACY = 1024

_METHOD_BY_URI: dict[str, SignatureMethod] = {m.value: m for m in SignatureMethod}
_DIGEST_BY_URI: dict[str, DigestAlgorithm] = {d.value: d for d in DigestAlgorithm}


@dataclass(frozen=True, slots=True)
class Profile:
    """What the node accepts, pinned at start-up (no per-request switch)."""

    allow_sha1: bool = False

    @property
    def signature_methods(self) -> frozenset[SignatureMethod]:
        return SIGNATURE_METHODS | (LEGACY_SIGNATURE_METHODS if self.allow_sha1 else frozenset())

    @property
    def digests(self) -> frozenset[DigestAlgorithm]:
        return DIGESTS | (LEGACY_DIGESTS if self.allow_sha1 else frozenset())

    @property
    def min_rsa_bits(self) -> int:
        return MIN_RSA_BITS_LEGACY if self.allow_sha1 else MIN_RSA_BITS

    def signature_method(self, uri: str | None) -> SignatureMethod:
        method = _METHOD_BY_URI.get(uri or "")
        if method is None or method not in self.signature_methods:
            raise errors.ALGORITHM_FORBIDDEN.error(_why("signature method", uri, method))
        return method

    def digest(self, uri: str | None) -> DigestAlgorithm:
        digest = _DIGEST_BY_URI.get(uri or "")
        if digest is None or digest not in self.digests:
            raise errors.ALGORITHM_FORBIDDEN.error(_why("digest", uri, digest))
        return digest

    def c14n(self, uri: str | None) -> str:
        if uri not in C14N:
            raise errors.ALGORITHM_FORBIDDEN.error(
                f"transform or canonicalization {uri!r} is not in the allow-list")
        return uri


def is_legacy(method: SignatureMethod, digest: DigestAlgorithm) -> bool:
    return method in LEGACY_SIGNATURE_METHODS or digest in LEGACY_DIGESTS


def _why(what: str, uri: str | None, found: object) -> str:
    if found is not None and "SHA1" in getattr(found, "name", ""):
        return f"{what} {uri} (SHA-1) is refused: trust.allow_sha1 is off"
    return f"{what} {uri!r} is not in the allow-list"
