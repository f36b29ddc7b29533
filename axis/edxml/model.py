"""Frozen typed values for edXML document and status packages (QCVN 102:2016).

These are what every stage after parsing reads. They never hold the XML tree; the raw
bytes travel beside them in `ParsedPackage` so that a package is forwarded byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, IntEnum

from axis.errors import Finding

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"


class Kind(str, Enum):
    EDOC = "edoc"
    STATUS = "status"


class BusinessType(IntEnum):
    """`Bussiness/BussinessDocType` (spec §3)."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


class Priority(IntEnum):
    """`OtherInfo/Priority`: urgent documents go first (Art. 7.2)."""

    NORMAL = 0  # thường
    URGENT = 1  # khẩn
    VERY_URGENT = 2  # thượng khẩn
    FLASH = 3  # hỏa tốc
    FLASH_TIMED = 4  # hỏa tốc hẹn giờ


class StatusCode(str, Enum):
    """Status table of spec §5; codes 07–12 and 14 are not in use."""

    ARRIVED = "01"  # đã đến
    REFUSED = "02"  # từ chối (Art. 6.4: with a reason)
    REGISTERED = "03"  # đã tiếp nhận
    ASSIGNED = "04"  # phân công
    IN_PROGRESS = "05"  # đang xử lý
    DONE = "06"  # hoàn thành
    RECALL_REQUEST = "13"  # yêu cầu lấy lại (sent by the original sender)
    AGREED = "15"  # đồng ý cập nhật / lấy lại
    DISAGREED = "16"  # từ chối cập nhật / lấy lại


class SignatureState(str, Enum):
    """What the envelope carries, before any cryptographic verification."""

    ABSENT = "absent"
    PLACEHOLDER = "placeholder"
    PRESENT = "present"


@dataclass(frozen=True, slots=True)
class Organ:
    """`From` or `To`: an agency, its identifier being the routing key."""

    organ_id: str
    name: str = ""
    in_charge: str = ""
    address: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """`DocumentId` in its comma form: issuer, date, number/notation (Art. 8.3)."""

    issuer: str
    issued_on: date | None
    number: str
    notation: str


@dataclass(frozen=True, slots=True)
class DocCode:
    number: str = ""
    notation: str = ""


@dataclass(frozen=True, slots=True)
class DocumentType:
    type: int | None = None
    detail: int | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class SignerInfo:
    competence: str = ""
    position: str = ""
    full_name: str = ""


@dataclass(frozen=True, slots=True)
class OtherInfo:
    priority: Priority = Priority.NORMAL
    sphere: str = ""
    typer_notation: str = ""
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: str = ""
    appendixes: tuple[str, ...] = ()
    # Độ mật: not in QCVN 102's table, but vendors carry it in OtherInfo. A classified
    # document is refused by policy (Art. 1.2).
    secrecy: str = ""


@dataclass(frozen=True, slots=True)
class ResponseFor:
    organ_id: str = ""
    code: str = ""
    promulgation_date: date | None = None
    document_id: str = ""


@dataclass(frozen=True, slots=True)
class StaffInfo:
    department: str = ""
    staff: str = ""
    email: str = ""
    mobile: str = ""
    department_id: str = ""
    staff_id: str = ""


@dataclass(frozen=True, slots=True)
class TraceHeader:
    organ_id: str | None
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class Receiver:
    organ_id: str
    receiver_type: int | None = None


@dataclass(frozen=True, slots=True)
class BusinessDocumentInfo:
    """For an update: what changed (spec §3)."""

    document_info: int | None = None
    document_receiver: int | None = None
    receivers: tuple[Receiver, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplacementInfo:
    document_id: str
    organ_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Business:
    doc_type: BusinessType = BusinessType.NEW
    reason: str = ""
    document_id: str = ""
    paper: int | None = None  # 1: a paper copy also follows (Art. 6.5)
    staff: StaffInfo | None = None
    document_info: BusinessDocumentInfo | None = None
    replacements: tuple[ReplacementInfo, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        """The documents this package acts on (spec §3), in the order named.

        A replace (3) names the replaced documents in `ReplacementInfoList` (the national
        SDK's own sample has no `Bussiness/DocumentId`); older producers put the one
        replaced document in `Bussiness/DocumentId`, read when the list names none. An
        update (2) or a recall (1) acts on `Bussiness/DocumentId`; a new document (0) on
        nothing.
        """
        if self.doc_type is BusinessType.NEW:
            return ()
        if self.doc_type is BusinessType.REPLACE:
            replaced = tuple(dict.fromkeys(r.document_id for r in self.replacements
                                           if r.document_id))
            if replaced:
                return replaced
        return (self.document_id,) if self.document_id else ()


@dataclass(frozen=True, slots=True)
class ZipEntry:
    name: str
    size: int
    detected_type: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A manifest entry; joined to its attachment on ContentId (`cid:` stripped)."""

    content_id: str
    content_type: str = ""
    attachment_name: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    content_id: str
    name: str = ""
    content_type: str = ""
    description: str = ""
    size: int = 0
    sha256: str = ""
    detected_type: str = ""
    entries: tuple[ZipEntry, ...] = ()
    # The decoded bytes, kept only when the reader is asked to (builder round trips,
    # archive export); the node itself forwards the raw package, never these.
    data: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DocumentHeader:
    sender: Organ
    recipients: tuple[Organ, ...]
    document_id: str
    code: DocCode = DocCode()
    promulgation_place: str = ""
    promulgation_date: date | None = None
    document_type: DocumentType | None = None
    subject: str = ""
    content: str = ""
    signer: SignerInfo | None = None
    due_date: date | None = None
    to_places: tuple[str, ...] = ()
    other: OtherInfo = OtherInfo()
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    # `ResponseForTask/TaskCode`: the tasks this document answers (a reply, Art. 13.3.b).
    response_for_task: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusHeader:
    sender: Organ
    response_for: ResponseFor
    status_code: StatusCode
    staff: StaffInfo | None = None
    description: str = ""
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class DocumentPackage:
    header: DocumentHeader
    traces: tuple[TraceHeader, ...] = ()
    business: Business | None = None
    references: tuple[Reference, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    signature: SignatureState = SignatureState.ABSENT
    kind: Kind = field(default=Kind.EDOC, init=False)

    @property
    def sender_id(self) -> str:
        return self.header.sender.organ_id

    @property
    def recipient_ids(self) -> tuple[str, ...]:
        return tuple(o.organ_id for o in self.header.recipients)

    @property
    def business_type(self) -> BusinessType:
        return self.business.doc_type if self.business else BusinessType.NEW

    @property
    def target_document_ids(self) -> tuple[str, ...]:
        """The documents an update, replace or recall acts on; routing, ownership checks
        and the trail link read them here (`Business.targets`)."""
        return self.business.targets if self.business else ()


@dataclass(frozen=True, slots=True)
class StatusPackage:
    header: StatusHeader
    signature: SignatureState = SignatureState.ABSENT
    kind: Kind = field(default=Kind.STATUS, init=False)

    @property
    def sender_id(self) -> str:
        return self.header.sender.organ_id

    @property
    def recipient_ids(self) -> tuple[str, ...]:
        # Spec §5: a status goes to ResponseFor/OrganId (for 13, the recipient whose
        # copy is taken back, also named there).
        return (self.header.response_for.organ_id,)


Package = DocumentPackage | StatusPackage


@dataclass(frozen=True, slots=True)
class ParsedPackage:
    """A package read and validated: the typed value, its raw bytes and its warnings."""

    package: Package
    raw: bytes = field(repr=False)
    warnings: tuple[Finding, ...] = ()
