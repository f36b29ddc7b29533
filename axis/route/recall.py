"""Recall (Art. 9.3) and where statuses may come from.

A recall is a document package with BussinessDocType 1, or a status 13 from the original
sender. For each recipient: a copy not yet taken is withdrawn from its inbox and the
sender gets status 15 from the node on that recipient's behalf ("withdrawn before
delivery"); a copy already taken gets the recall delivered, and the recipient's own 15 or
16 is relayed back like any status.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from axis import errors
from axis.edxml.model import BusinessType, Kind, Package, StatusCode, StatusPackage
from axis.route.model import DeliveryReceipt, DeliveryState, TrailEntry, TrailEvent
from axis.route.ports import RouteTx

if TYPE_CHECKING:
    from axis.route.exchange import Exchange

_NOT_TAKEN = (DeliveryState.QUEUED, DeliveryState.AVAILABLE)


def is_recall(package: Package) -> bool:
    if isinstance(package, StatusPackage):
        return package.header.status_code is StatusCode.RECALL_REQUEST
    return package.business_type is BusinessType.REVOKE


def target_of(package: Package) -> str:
    """The document a recall, update or replacement acts on."""
    if isinstance(package, StatusPackage):
        return package.header.response_for.document_id
    business = package.business
    return (business.document_id if business and business.document_id
            else package.header.document_id)


def lock_copies(tx: RouteTx, package: Package) -> None:
    """Lock every copy of the recalled document, in one fixed order (delivery id)."""
    copies = tx.deliveries_of_document(package.sender_id, target_of(package), Kind.EDOC)
    for d in sorted(copies, key=lambda d: d.delivery_id):
        tx.get_delivery(d.delivery_id, for_update=True)


def withdraw(
    exchange: Exchange, tx: RouteTx, package: Package, recipient_id: str, at: datetime
) -> DeliveryReceipt | None:
    """Withdraw the recipient's untaken copies; None when the recall must be delivered."""
    target = target_of(package)
    copies = [
        d for d in tx.deliveries_of_document(package.sender_id, target, Kind.EDOC)
        if d.recipient_id == recipient_id and d.business_type != int(BusinessType.REVOKE)
    ]
    if not copies:
        raise errors.RECALL_TARGET_UNKNOWN.error(
            f"{target!r} was not sent by {package.sender_id} to {recipient_id}")
    if any(d.state is DeliveryState.DELIVERED for d in copies):
        return None
    pending = [d for d in copies if d.state in _NOT_TAKEN]
    if not pending:  # already withdrawn (a repeated recall): the same answer again
        return DeliveryReceipt(recipient_id, copies[0].delivery_id, duplicate=True)
    for d in pending:
        locked = tx.get_delivery(d.delivery_id, for_update=True) or d
        if locked.state not in _NOT_TAKEN:
            return None  # taken meanwhile by the recipient: deliver the recall instead
        tx.update_delivery(replace(locked, state=DeliveryState.WITHDRAWN))
        tx.remove_from_inbox(locked.delivery_id)
        tx.add_trail(TrailEntry(target, recipient_id, TrailEvent.WITHDRAWN, at,
                                locked.delivery_id,
                                detail="withdrawn before delivery / thu hồi trước khi nhận"))
        tx.append_journal(at, "delivery.withdrawn", locked.delivery_id, {
            "recipient": recipient_id, "document_id": target, "by": package.sender_id})
    exchange.emit_status(tx, on_behalf_of=recipient_id, original_sender=package.sender_id,
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


