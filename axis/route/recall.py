"""Recall (Art. 9.3), who may act on a document, and where statuses may come from.

A recall is a document package with BussinessDocType 1, or a status 13 from the original
sender. For each recipient: a copy not yet taken is withdrawn from its inbox and the
sender gets status 15 from the node on that recipient's behalf ("withdrawn before
delivery"); a copy already taken gets the recall delivered, and the recipient's own 15 or
16 is relayed back like any status.

Ownership: a recall, an update (2) or a replacement (3) acts on a document its own sender
sent through this node, never on another agency's (Art. 9.3 gives the right to recall to
the issuer; an update or a replacement is the issuer's too). Every check here only reads:
the exchange runs them before it stores a byte or writes a row, so that a refusal leaves
nothing behind (no package bytes, no half-written trail).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from axis import errors
from axis.edxml.model import BusinessType, Kind, Package, StatusCode, StatusPackage
from axis.route import delivery as deliveries
from axis.route.model import Delivery, DeliveryReceipt, DeliveryState
from axis.route.ports import RouteTx

_NOT_TAKEN = (DeliveryState.QUEUED, DeliveryState.AVAILABLE)


class EmitStatus(Protocol):
    """Queue a node-signed status on a recipient's behalf (`Exchange.emit_status`).

    Passed in rather than imported, so that this module only depends on the ports and the
    exchange on it, never the reverse."""

    def __call__(
        self, tx: RouteTx, *, on_behalf_of: str, original_sender: str, document_id: str,
        code: StatusCode, at: datetime,
    ) -> object: ...


def is_recall(package: Package) -> bool:
    if isinstance(package, StatusPackage):
        return package.header.status_code is StatusCode.RECALL_REQUEST
    return package.business_type is BusinessType.REVOKE


def target_of(package: Package) -> str:
    """The document a recall, update or replacement acts on."""
    if isinstance(package, StatusPackage):
        return package.header.response_for.document_id
    targets = package.target_document_ids  # a replace names them in ReplacementInfoList
    return targets[0] if targets else package.header.document_id


def check_owner(tx: RouteTx, package: Package) -> None:
    """An update or a replacement names a document its sender sent through this node.

    The rule of a recall: the acted-on copies are looked up by the package's own signed
    sender, so another agency's document is not found, and "not yours" and "unknown" are
    one answer: the refusal tells nothing about other agencies' documents. It holds also
    when the package names itself (same DocumentId): what it updates must be its own."""
    if isinstance(package, StatusPackage) or package.business_type not in (
        BusinessType.UPDATE, BusinessType.REPLACE
    ):
        return
    # Every document it names, not only the one the trail links (`target_of`): a
    # recipient's system may act on each entry of a ReplacementInfoList.
    for target in package.target_document_ids or (target_of(package),):
        if not any(d.business_type != int(BusinessType.REVOKE)
                   for d in tx.deliveries_of_document(package.sender_id, target, Kind.EDOC)):
            raise errors.UPDATE_TARGET_UNKNOWN.error(
                f"{target!r} was not sent by {package.sender_id} through this node")


def copies_for(tx: RouteTx, package: Package, recipient_id: str) -> list[Delivery]:
    """The recipient's copies of the document a recall takes back (the recalls excluded)."""
    return [
        d for d in tx.deliveries_of_document(package.sender_id, target_of(package), Kind.EDOC)
        if d.recipient_id == recipient_id and d.business_type != int(BusinessType.REVOKE)
    ]


def check_recall(tx: RouteTx, package: Package, recipient_id: str) -> None:
    """A recall names a document its sender sent to this recipient (Art. 9.3)."""
    if not copies_for(tx, package, recipient_id):
        raise errors.RECALL_TARGET_UNKNOWN.error(
            f"{target_of(package)!r} was not sent by {package.sender_id} to {recipient_id}")


def lock_copies(tx: RouteTx, package: Package) -> None:
    """Lock every copy of the recalled document, in one fixed order (delivery id)."""
    copies = tx.deliveries_of_document(package.sender_id, target_of(package), Kind.EDOC)
    for d in sorted(copies, key=lambda d: d.delivery_id):
        tx.get_delivery(d.delivery_id, for_update=True)


def withdraw(
    emit_status: EmitStatus, tx: RouteTx, package: Package, recipient_id: str, at: datetime
) -> DeliveryReceipt | None:
    """Withdraw the recipient's untaken copies; None when the recall must be delivered."""
    target = target_of(package)
    copies = copies_for(tx, package, recipient_id)
    if not copies:  # decided by `check_recall` before anything was written
        raise errors.RECALL_TARGET_UNKNOWN.error(
            f"{target!r} was not sent by {package.sender_id} to {recipient_id}")
    # Taken, or handed to the peer serving the recipient (issue 10): the recall travels
    # as a package, to the recipient or to its node, which withdraws it there.
    if any(d.state in (DeliveryState.DELIVERED, DeliveryState.FORWARDED) for d in copies):
        return None
    pending = [d for d in copies if d.state in _NOT_TAKEN]
    if not pending:  # already withdrawn (a repeated recall): the same answer again
        return DeliveryReceipt(recipient_id, copies[0].delivery_id, duplicate=True)
    for d in pending:
        locked = tx.get_delivery(d.delivery_id, for_update=True) or d
        if locked.state not in _NOT_TAKEN:
            return None  # taken meanwhile by the recipient: deliver the recall instead
        deliveries.withdrawn(tx, locked, at, document_id=target, by=package.sender_id)
    emit_status(tx, on_behalf_of=recipient_id, original_sender=package.sender_id,
                document_id=target, code=StatusCode.AGREED, at=at)
    return DeliveryReceipt(recipient_id, pending[0].delivery_id)


def check_status_origin(tx: RouteTx, status: StatusPackage) -> None:
    """A status about a document must come from an agency that received it."""
    original_sender = status.header.response_for.organ_id
    document_id = status.header.response_for.document_id
    copies = tx.deliveries_of_document(original_sender, document_id, Kind.EDOC)
    if not any(d.recipient_id == status.sender_id for d in copies):
        raise errors.NOT_RECIPIENT.error(
            f"{status.sender_id} did not receive {document_id!r} from {original_sender}")


