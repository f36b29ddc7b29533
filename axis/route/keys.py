"""What the exchange derives from a package for its copies: the business document it
is about, the idempotency key of a copy, its priority, the broker message's body."""

from __future__ import annotations

import json

from axis.edxml.model import DocumentPackage, Package, StatusPackage
from axis.route.model import Delivery


def document_id_of(package: Package) -> str:
    if isinstance(package, StatusPackage):
        return package.header.response_for.document_id
    return package.header.document_id


def dedupe_key(package: Package, recipient_id: str, sha256: str = "") -> str:
    """The idempotency key of a copy: same business type (or status code), sender,
    document and recipient — and, for a package a sender (or a peer) handed in, the
    SHA-256 of its bytes (issue 10: stable across retries and hops, since forwarding is
    byte-identical; a package signed anew is a new message). Copies accepted before
    issue 10, and the node's own statuses and notices (signed afresh whenever they are
    made), carry the key without the digest."""
    if isinstance(package, StatusPackage):
        what = f"status:{package.header.status_code.value}"
    else:
        what = f"edoc:{int(package.business_type)}"
    key = "|".join((what, package.sender_id, document_id_of(package), recipient_id))
    return f"{key}|{sha256}" if sha256 else key


def priority_of(package: Package) -> int:
    if isinstance(package, DocumentPackage):
        return int(package.header.other.priority)
    return 0


def outbox_body(delivery: Delivery) -> bytes:
    """The broker message's body: a reference to the stored package, never the package."""
    return json.dumps({"delivery_id": delivery.delivery_id, "package": delivery.package_sha256,
                       "recipient": delivery.recipient_id}).encode()
