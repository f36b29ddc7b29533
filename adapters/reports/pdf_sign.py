"""The node signs a report PDF (pyHanko): a PDF signature (ISO 32000, adbe.pkcs7.detached,
SHA-256) with the node's key and certificate, the same identity that signs its status
packages (axis/trust/sign.py), so the file can be published on the provincial portal as
it is and any PDF reader shows who signed it and whether it changed since.

The signing time is the caller's (the time is injected, as everywhere in the node), not
the clock pyHanko would read: pyHanko's signing session is driven step by step for that.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from axis import errors
from axis.trust.sign import NodeSigner

FIELD = "AxisNodeSignature"


def sign_pdf(pdf: bytes, signer: NodeSigner, *, at: datetime, reason: str,
             location: str = "") -> bytes:
    """`pdf` with the node's signature appended (an incremental update)."""
    try:
        return asyncio.run(_sign(pdf, signer, at, reason, location))
    except RuntimeError as exc:  # asyncio.run inside a running loop: the caller's mistake
        if "event loop" in str(exc):
            raise errors.SIGNING_FAILED.error(
                "sign_pdf was called from a running event loop: call it in a thread") from exc
        raise errors.SIGNING_FAILED.error(f"PDF signature: {exc}") from exc
    except (ValueError, TypeError, OSError) as exc:
        raise errors.SIGNING_FAILED.error(f"PDF signature: {exc}") from exc


async def _sign(pdf: bytes, signer: NodeSigner, at: datetime, reason: str,
                location: str) -> bytes:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
    from pyhanko_certvalidator import registry

    store: Any = registry.SimpleCertificateStore  # typed package, untyped constructor

    cert = asn1_x509.Certificate.load(signer.cert.public_bytes(Encoding.DER))
    key = asn1_keys.PrivateKeyInfo.load(signer.key.private_bytes(
        Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
    chain = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in signer.chain]
    cms_signer = signers.SimpleSigner(
        signing_cert=cert, signing_key=key,
        cert_registry=store.from_certs([cert, *chain]))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD, md_algorithm="sha256", reason=reason,
        location=location or None, name=cert.subject.human_friendly)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    session = signers.PdfSigner(meta, signer=cms_signer).init_signing_session(writer)
    session.system_time = at  # the signature dictionary's /M and the CMS signing time
    info = await session.perform_presign_validation(writer)
    reserved = await session.estimate_signature_container_size(info, tight=False)
    tbs = session.prepare_tbs_document(validation_info=info, bytes_reserved=reserved)
    digest, output = tbs.digest_tbs_document()
    done = await tbs.perform_signature(
        document_digest=digest.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=at))
    await done.post_signature_processing(output)
    output.seek(0)
    signed: bytes = output.read()
    return signed
