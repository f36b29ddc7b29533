"""Detached signatures with the node key over canonical bytes (not edXML): the journal's
checkpoints (axis/journal/checkpoint.py) and the registry snapshots a node publishes to
its peers (axis/federation/snapshot.py). RSA PKCS#1 v1.5 or ECDSA, SHA-256, as the key
is; the certificates travel as PEM, the signer's first."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from axis.trust.sign import NodeSigner


def sign(signer: NodeSigner, raw: bytes) -> tuple[bytes, str]:
    """(signature, certificates as PEM) for `raw`."""
    key = signer.key
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(raw, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(raw, ec.ECDSA(hashes.SHA256()))
    pem = "".join(c.public_bytes(Encoding.PEM).decode("ascii")
                  for c in (signer.cert, *signer.chain))
    return signature, pem


def certificates(pem: str) -> list[x509.Certificate]:
    """The certificates carried with a signature; ValueError when unreadable or none."""
    try:
        certs = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except UnicodeEncodeError as exc:
        raise ValueError(str(exc)) from exc
    return certs


def problem(cert: x509.Certificate, signature: bytes, raw: bytes) -> str | None:
    """None when `signature` by `cert`'s key holds over `raw`, else why not."""
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, raw, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, raw, ec.ECDSA(hashes.SHA256()))
        else:
            return "neither an RSA nor an EC key"
    except InvalidSignature:
        return "the signature does not match"
    return None
