"""Maintenance notices: written notice to every agency before maintenance (Art. 21.3).

Art. 21.3 asks that maintenance and upgrades be announced to every agency *in writing*.
On this axis the written form is an edXML document package in each agency's inbox, so that
it reaches the agency's document-management system like any other document and is kept in
its register (Art. 12.1).

Who it is from. The node is not an agency and has no identifier; a package needs a
registered `From` that recipients' systems know. The notice is therefore From a configured
agency, the unit that operates the axis (`admin.notice_sender_id`; Art. 17 makes it the
Department of Information and Communications), and it says so in its text. It is signed
with the NODE's key, not that agency's: the node built it, and recipients check it against
the node certificate they already use for the node's status packages (acks.py).

Its number. Art. 8.3 and 12.2: a document number belongs to its issuer's register, so the
node does not invent one: the operator gives the number the registry clerk issued. The
same number with the same content is the same notice (a retry: no second copy); the same
number with another content is refused (`notice.number_used`).

One package, one transaction: the package is stored once and one delivery per recipient is
queued with its trail and journal entries in a single store transaction (fail closed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from axis import errors
from axis.clock import as_vietnam, iso
from axis.edxml.model import (
    Attachment,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    Kind,
    Organ,
    OtherInfo,
    Priority,
    Reference,
)
from axis.edxml.writer import build
from axis.registry.model import Agency, AgencyKind, AgencyState
from axis.route.exchange import Exchange
from axis.route.keys import dedupe_key
from axis.route.model import DeliveryReceipt, StoredPackage

NUMBER = re.compile(r"[0-9]{1,10}")
NOTATION = re.compile(r"[0-9A-Za-zĐđ][0-9A-Za-zĐđ.-]{0,29}")
MAX_SUBJECT = 240  # each language; Subject holds both and edXML allows 500
MAX_CONTENT = 500  # edXML Content: a summary; the full text is the attachment
MAX_TEXT = 20_000
ATTACHMENT_NAME = "thong-bao-bao-tri.txt"


class NoticeDirectory(Protocol):
    """What broadcasting needs of the registry (`axis.registry.service.Registry`)."""

    def find(self, identifier: str) -> Agency | None: ...

    def list(
        self, *, state: AgencyState | None = None, kind: AgencyKind | None = None
    ) -> list[Agency]: ...


@dataclass(frozen=True, slots=True)
class Notice:
    number: str  # as issued in the sender's register (Art. 8.3)
    subject_vi: str
    subject_en: str
    text_vi: str
    text_en: str
    notation: str = "TB-TLT"  # thông báo – trục liên thông
    starts_at: datetime | None = None  # the maintenance window, when there is one
    ends_at: datetime | None = None
    urgent: bool = False  # Art. 7.2: an urgent notice is listed first


@dataclass(frozen=True, slots=True)
class NoticeReceipt:
    document_id: str
    sender_id: str
    package_sha256: str
    sent_at: datetime
    deliveries: tuple[DeliveryReceipt, ...]
    journal_seq: int


def _when(name: str, value: datetime | None) -> datetime | None:
    """The instant in Vietnam time; one that has none (year 10000 once converted) is
    refused like any other impossible date."""
    if value is None:
        return None
    try:
        return as_vietnam(value)
    except ValueError as exc:
        raise errors.API_INVALID_REQUEST.error(f"{name}: {exc}") from exc


def check(notice: Notice) -> Notice:
    """Refuse (`api.invalid_request`) a notice that could not become a valid package;
    the notice with its window in Vietnam time."""
    bad = errors.API_INVALID_REQUEST
    if not NUMBER.fullmatch(notice.number):
        raise bad.error("number: 1 to 10 digits, as issued in the sender's register")
    if not NOTATION.fullmatch(notice.notation):
        raise bad.error("notation: letters, digits, '.', '-' (at most 30)")
    for name, value, limit in (("subject_vi", notice.subject_vi, MAX_SUBJECT),
                               ("subject_en", notice.subject_en, MAX_SUBJECT),
                               ("text_vi", notice.text_vi, MAX_TEXT),
                               ("text_en", notice.text_en, MAX_TEXT)):
        if not value.strip() or len(value) > limit:
            raise bad.error(f"{name}: 1 to {limit} characters")
        # The text goes into XML and into recipients' registers: characters XML 1.0
        # cannot hold, and control characters (line breaks only in the texts), refused.
        allowed = _TEXT_CONTROLS if name.startswith("text") else ""
        odd = next((c for c in value if _unfit(c, allowed)), None)
        if odd is not None:
            raise bad.error(f"{name}: character U+{ord(odd):04X} is not allowed")
    starts, ends = _when("starts_at", notice.starts_at), _when("ends_at", notice.ends_at)
    if starts and ends and ends <= starts:
        raise bad.error("ends_at must come after starts_at")
    return replace(notice, starts_at=starts, ends_at=ends)


_TEXT_CONTROLS = "\t\n\r"


def _unfit(c: str, allowed: str) -> bool:
    """A control character (C0, DEL, C1) not in `allowed`, a surrogate, or a
    non-character (U+FFFE, U+FFFF): nothing a notice's text needs."""
    o = ord(c)
    if c in allowed:
        return False
    return (o < 0x20 or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF
            or o in (0xFFFE, 0xFFFF))


def recipients(directory: NoticeDirectory) -> list[Agency]:
    """Every active agency inside the province. Suspended and retired agencies are not
    written to; agencies of other provinces and ministries are reached through the
    national axis, whose own operator announces its maintenance."""
    return directory.list(state=AgencyState.ACTIVE, kind=AgencyKind.INTERNAL)


def _window(notice: Notice) -> tuple[str, str]:
    if not (notice.starts_at or notice.ends_at):
        return "", ""
    start = iso(notice.starts_at) if notice.starts_at else "?"
    end = iso(notice.ends_at) if notice.ends_at else "?"
    return f"\nThời gian: từ {start} đến {end}.", f"\nWindow: from {start} to {end}."


def summary(notice: Notice) -> str:
    """edXML Content (at most 500 characters): what, when, and where the text is."""
    window_vi, window_en = _window(notice)
    text = (f"{notice.subject_vi}.{window_vi}\n{notice.subject_en}.{window_en}\n"
            f"Toàn văn: tệp đính kèm / Full text: attachment {ATTACHMENT_NAME}.")
    return text if len(text) <= MAX_CONTENT else text[:MAX_CONTENT - 1] + "…"


def body_text(notice: Notice, sender: Agency) -> str:
    """The attachment: the notice in full, Vietnamese then English."""
    window_vi, window_en = _window(notice)
    return (
        f"{notice.subject_vi}\n\n{notice.text_vi.strip()}{window_vi}\n\n"
        f"Thông báo do trục liên thông văn bản tỉnh phát hành thay mặt {sender.name} "
        f"(Điều 21.3), ký số bằng chứng thư số của trục.\n\n"
        "----\n\n"
        f"{notice.subject_en}\n\n{notice.text_en.strip()}{window_en}\n\n"
        f"Issued by the provincial exchange node on behalf of {sender.name} (Art. 21.3), "
        "signed with the node's certificate.\n"
    )


def build_notice(
    notice: Notice, *, sender: Agency, to: Sequence[Agency], at: datetime
) -> DocumentPackage:
    document_id = f"{sender.agency_id},{at:%Y/%m/%d},{notice.number}/{notice.notation}"
    text = body_text(notice, sender)
    data = text.encode("utf-8")
    return DocumentPackage(
        header=DocumentHeader(
            sender=Organ(sender.agency_id, name=sender.name),
            recipients=tuple(Organ(a.agency_id, name=a.name) for a in to),
            document_id=document_id,
            code=DocCode(notice.number, notice.notation),
            promulgation_date=at.date(),
            subject=f"{notice.subject_vi} / {notice.subject_en}",
            content=summary(notice),
            other=OtherInfo(priority=Priority.URGENT if notice.urgent else Priority.NORMAL),
        ),
        references=(Reference("notice", "text/plain", ATTACHMENT_NAME),),
        attachments=(Attachment("notice", ATTACHMENT_NAME, "text/plain", data=data),),
    )


def broadcast(
    exchange: Exchange,
    directory: NoticeDirectory,
    notice: Notice,
    *,
    sender_id: str,
    actor: str,
    reason: str,
    signer_fingerprint: str = "",
    self_check: Callable[[bytes], object] | None = None,
) -> NoticeReceipt:
    """Build, sign (node key), store and queue one copy per active agency.

    `self_check` validates the signed bytes before anything is stored (the node's own
    schema check; it raises, its result is ignored): a notice the recipients could not
    read is a node fault, not sent."""
    notice = check(notice)
    sender = directory.find(sender_id)
    if sender is None or not sender.active:
        raise errors.CONFIG_INVALID.error(
            f"admin.notice_sender_id {sender_id!r} is not an active registered agency")
    to = recipients(directory)
    at = exchange.clock.now()
    package = build_notice(notice, sender=sender, to=to, at=at)
    raw = exchange.signer.sign(build(package))
    if self_check is not None:
        self_check(raw)
    document_id = package.header.document_id
    sha = hashlib.sha256(raw).hexdigest()
    with exchange.store.transaction() as tx:
        earlier = tx.deliveries_of_document(sender.agency_id, document_id)
        if any(d.package_sha256 != sha for d in earlier):
            raise errors.NOTICE_NUMBER_USED.error(document_id)
        # Stored once decided (a refused notice leaves no bytes), durable before the
        # commit that refers to it (as the exchange's `_accept`).
        exchange.blobs.put(raw)
        tx.save_package(StoredPackage(
            sha256=sha, size=len(raw), kind=Kind.EDOC, sender_id=sender.agency_id,
            document_id=document_id, received_at=at, signature="node",
            signer_fingerprint=signer_fingerprint,
        ))
        entry = tx.append_journal(at, "notice.broadcast", sha, {
            "document_id": document_id, "sender": sender.agency_id, "actor": actor,
            "reason": reason, "recipients": len(to), "subject": notice.subject_vi,
        })
        out: list[DeliveryReceipt] = []
        for agency in to:
            key = dedupe_key(package, agency.agency_id)
            existing = tx.find_by_dedupe(key)
            if existing is not None:  # the same notice again: the copy already queued
                out.append(DeliveryReceipt(agency.agency_id, existing.delivery_id, True))
                continue
            d = exchange.enqueue(tx, package, sha, agency.agency_id, at, key, origin="node")
            out.append(DeliveryReceipt(agency.agency_id, d.delivery_id))
    return NoticeReceipt(document_id, sender.agency_id, sha, at, tuple(out), entry.seq)
