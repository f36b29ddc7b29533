"""The answers (and the one JSON request) of the agency API (adapters/rest/agency.py),
typed so that /openapi.json describes each one, and their encoding from the agency
operations' values (axis/app/values.py, axis/route/model.py). The registry's answer
(`AgencyList`) stays in agency.py: see there why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from axis.app.values import MAX_DOC_ID, TrailView
from axis.app.values import InboxPage as Page
from axis.clock import iso
from axis.route.model import Receipt

MessageType = Literal["edoc", "status"]
# An identifier in a query: printable, no control characters (PostgreSQL cannot even hold
# a NUL in text, and no transport id or DocumentId carries one).
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class DeliveryOut(BaseModel):
    recipient: str
    doc_id: str = Field(description="transport id of this recipient's copy")
    duplicate: bool


class ReceiptOut(BaseModel):
    """The node's acknowledgement: given only once the package is durable."""

    message_type: MessageType
    sender: str
    document_id: str = Field(description="the business DocumentId")
    package_sha256: str
    accepted_at: str = Field(description="ISO 8601, +07:00")
    duplicate: bool
    deliveries: list[DeliveryOut]
    warnings: list[str]
    journal_seq: int


class InboxItemOut(BaseModel):
    doc_id: str = Field(description="transport id: pass it to getEdoc and updateStatus")
    sender: str
    message_type: MessageType
    document_id: str
    business_type: int | None = Field(description="0 new, 1 revoke, 2 update, 3 replace")
    status_code: str | None = Field(description="01–16 for a status package")
    priority: int = Field(description="0 normal … 4 flash, timed (Art. 7.2)")
    available_at: str = Field(description="ISO 8601, +07:00")


class InboxPage(BaseModel):
    items: list[InboxItemOut]
    offset: int
    limit: int
    next_offset: int | None = Field(description="offset of the next page; null at the end")


class UpdateStatusIn(BaseModel):
    docId: str = Field(min_length=1, max_length=MAX_DOC_ID, pattern=PRINTABLE)
    status: Literal["processing", "done", "fail"]


class UpdateStatusOut(BaseModel):
    doc_id: str
    status: Literal["processing", "done", "fail"]


class TrailEventOut(BaseModel):
    at: str = Field(description="ISO 8601, +07:00")
    agency: str = Field(description="whose history: the recipient, or who reported")
    event: str
    status_code: str | None
    doc_id: str | None
    effective_at: str | None = Field(description="Art. 11.2 receipt time, when delivered")
    detail: str


class TrailOut(BaseModel):
    document_id: str
    events: list[TrailEventOut]


def receipt_out(r: Receipt) -> ReceiptOut:
    return ReceiptOut(
        message_type=r.kind.value, sender=r.sender_id, document_id=r.document_id,
        package_sha256=r.package_sha256, accepted_at=iso(r.accepted_at),
        duplicate=r.duplicate,
        deliveries=[DeliveryOut(recipient=d.recipient_id, doc_id=d.delivery_id,
                                duplicate=d.duplicate) for d in r.deliveries],
        warnings=list(r.warnings), journal_seq=r.journal_seq)


def inbox_page_out(page: Page) -> InboxPage:
    return InboxPage(
        items=[InboxItemOut(
            doc_id=i.delivery_id, sender=i.sender_id, message_type=i.kind.value,
            document_id=i.document_id, business_type=i.business_type,
            status_code=i.status_code, priority=i.priority,
            available_at=iso(i.available_at)) for i in page.items],
        offset=page.offset, limit=page.limit, next_offset=page.next_offset)


def trail_out(view: TrailView) -> TrailOut:
    return TrailOut(document_id=view.document_id, events=[TrailEventOut(
        at=iso(e.at), agency=e.agency_id, event=e.event.value, status_code=e.status_code,
        doc_id=e.delivery_id, effective_at=iso(e.effective_at) if e.effective_at else None,
        detail=e.detail) for e in view.entries])
