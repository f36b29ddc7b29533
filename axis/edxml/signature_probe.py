"""What kind of signature an envelope carries, before any cryptography.

Spec §6: many packages carry a placeholder, the same fake in every file: a truncated
certificate, a `Signature` without the xmldsig namespace (so it falls into the edXML
namespace), or an empty `DigitalSignature`. A placeholder is never a valid signature.
Verification proper is the trust stage's job (`axis.trust`).
"""

from __future__ import annotations

import binascii

from cryptography import x509
from lxml import etree

from axis.edxml.model import DSIG_NS, NS, SignatureState

_NO_NS = ("Signature", "DigitalSignature")


def signature_elements(header: etree._Element) -> list[etree._Element]:
    """Every child of edXMLHeader that claims to be a signature, in any namespace."""
    out = []
    for c in header.iterchildren(etree.Element):
        name = etree.QName(c).localname
        if name in _NO_NS:
            out.append(c)
    return out


def _cert_loads(text: str) -> bool:
    try:
        der = binascii.a2b_base64("".join(text.split()).encode("ascii"))
        x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return False
    return True


def probe_signature(header: etree._Element) -> SignatureState:
    sigs = signature_elements(header)
    if not sigs:
        return SignatureState.ABSENT
    sig = sigs[-1]
    if sig.tag != f"{{{DSIG_NS}}}Signature":
        return SignatureState.PLACEHOLDER
    value = sig.find(f"{{{DSIG_NS}}}SignatureValue")
    if value is None or not (value.text or "").strip():
        return SignatureState.PLACEHOLDER
    certs = sig.findall(f".//{{{DSIG_NS}}}X509Certificate")
    if certs and not all(_cert_loads(c.text or "") for c in certs):
        return SignatureState.PLACEHOLDER
    if sig.find(f".//{{{NS}}}DigitalSignature") is not None:
        return SignatureState.PLACEHOLDER
    return SignatureState.PRESENT
