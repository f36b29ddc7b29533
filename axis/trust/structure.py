"""The shape a signature must have before any cryptography runs (spec §6).

One enveloped XMLDSig signature, the last element child of `edXMLHeader`, with exactly one
`Reference URI=""` (the whole document, attachments included) and the enveloped transform,
algorithms from the allow-list, the signer's certificate in `KeyInfo/X509Data`. Anything
else is refused here, before signxml sees the tree, so that:

- a Reference to a file or a URL is never dereferenced (`trust.reference_forbidden`): the
  URI is refused by looking at it, nothing is opened or fetched;
- signature wrapping (a second signature, a signed header moved elsewhere and a forged one
  put in its place, a signature outside the header) cannot make the verifier check one
  part of the tree while the node reads another (`trust.signature_structure`);
- duplicate Id attributes, the raw material of wrapping attacks on same-document
  references, are refused even though only `URI=""` is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod

from axis import errors
from axis.edxml.model import DSIG_NS
from axis.edxml.signature_probe import signature_elements
from axis.trust.algorithms import ENVELOPED, Profile, is_legacy

Element = etree._Element

DS = "{" + DSIG_NS + "}"
DS_SIGNATURE = DS + "Signature"
_SIGNATURE_CHILDREN = frozenset({DS + "SignedInfo", DS + "SignatureValue", DS + "KeyInfo"})
_ID_ATTRIBUTES = etree.XPath(
    "//@*[local-name()='Id' or local-name()='ID' or local-name()='id']"
)


@dataclass(frozen=True, slots=True)
class Shape:
    """What the structural check found: the parts verification goes on with."""

    signature: Element
    method: SignatureMethod
    digest: DigestAlgorithm
    c14n: str
    legacy_sha1: bool
    certificates: tuple[str, ...]  # base64 text of each X509Certificate, in order


def dsig_signatures(root: Element) -> list[Element]:
    """Every xmldsig Signature anywhere in the document."""
    return list(root.iter(DS_SIGNATURE))


def check(root: Element, header: Element, profile: Profile) -> Shape:
    """The signature's shape, or the `trust.*` error that refuses it."""
    found = dsig_signatures(root)
    if len(found) != 1:
        raise _structure(f"{len(found)} xmldsig Signature elements; exactly one is allowed")
    sig = found[0]
    if sig.getparent() is not header:
        raise _structure("the Signature is not a child of edXMLHeader")
    last = _last_element(header)
    if last is not sig:
        raise _structure("the Signature is not the last child of edXMLHeader")
    if len(signature_elements(header)) != 1:
        raise _structure("edXMLHeader carries a placeholder beside the signature")
    _check_unique_ids(root)

    kids = list(sig.iterchildren("*"))
    tags = [c.tag for c in kids]
    if unexpected := set(tags) - _SIGNATURE_CHILDREN:
        raise _structure(f"unexpected element in Signature: {sorted(unexpected)}")
    if tags.count(DS + "SignedInfo") != 1 or tags.count(DS + "SignatureValue") != 1:
        raise _structure("Signature needs exactly one SignedInfo and one SignatureValue")
    if tags.count(DS + "KeyInfo") > 1:
        raise _structure("more than one KeyInfo")
    signed_info = kids[tags.index(DS + "SignedInfo")]

    c14n = profile.c14n(_algorithm(signed_info, "CanonicalizationMethod"))
    method = profile.signature_method(_algorithm(signed_info, "SignatureMethod"))
    refs = signed_info.findall(DS + "Reference")
    if len(refs) != 1:
        raise _structure(f"{len(refs)} References; exactly one (URI=\"\") is allowed")
    ref = refs[0]
    _check_uri(ref.get("URI"))
    _check_transforms(ref, profile)
    digest = profile.digest(_algorithm(ref, "DigestMethod"))
    certs = _certificates(sig)
    return Shape(sig, method, digest, c14n, is_legacy(method, digest), certs)


def _last_element(parent: Element) -> Element | None:
    elements = list(parent.iterchildren("*"))
    return elements[-1] if elements else None


def _algorithm(parent: Element, name: str) -> str | None:
    found = parent.findall(DS + name)
    if len(found) != 1:
        raise _structure(f"{etree.QName(parent).localname} needs exactly one {name}")
    return found[0].get("Algorithm")


def _check_uri(uri: str | None) -> None:
    if uri is None:
        raise _structure("the Reference has no URI; it must be URI=\"\"")
    if uri == "":
        return
    if uri.startswith("#"):
        raise _structure(f"Reference URI={uri!r}: only the whole document (URI=\"\") is signed")
    # A file, a URL, anything else: never dereferenced, refused by its text alone.
    raise errors.REFERENCE_FORBIDDEN.error(f"Reference URI={uri[:200]!r}")


def _check_transforms(ref: Element, profile: Profile) -> None:
    holders = ref.findall(DS + "Transforms")
    if len(holders) != 1:
        raise _structure("the Reference needs one Transforms with the enveloped transform")
    algs = []
    for t in holders[0].iterchildren("*"):
        if t.tag != DS + "Transform":
            raise _structure(f"unexpected {t.tag} in Transforms")
        algs.append(t.get("Algorithm"))
    for alg in algs:
        if alg != ENVELOPED:
            profile.c14n(alg)  # XPath, XSLT, base64 …: algorithm_forbidden
    if not algs or algs[0] != ENVELOPED:
        raise _structure("the first transform must be the enveloped-signature transform")
    if algs.count(ENVELOPED) != 1 or len(algs) > 2:
        raise _structure(f"transforms {algs}: enveloped, then at most one C14N")


def _certificates(sig: Element) -> tuple[str, ...]:
    key_info = sig.find(DS + "KeyInfo")
    if key_info is None:
        raise _structure("no KeyInfo: the signer's certificate must travel in X509Data")
    if key_info.find(DS + "RetrievalMethod") is not None:
        raise errors.REFERENCE_FORBIDDEN.error("KeyInfo/RetrievalMethod points elsewhere")
    certs = tuple(
        "".join((c.text or "").split())
        for c in key_info.iterfind(f"{DS}X509Data/{DS}X509Certificate")
    )
    if not certs or not all(certs):
        raise _structure("no X509Certificate in KeyInfo/X509Data")
    return certs


def _check_unique_ids(root: Element) -> None:
    seen: set[str] = set()
    for value in _ID_ATTRIBUTES(root):  # type: ignore[union-attr]
        text = str(value)
        if text in seen:
            raise _structure(f"duplicate Id {text[:80]!r}")
        seen.add(text)


def _structure(detail: str) -> errors.AxisError:
    return errors.SIGNATURE_STRUCTURE.error(detail)
