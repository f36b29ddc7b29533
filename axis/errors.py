"""One exception hierarchy for the whole node, with stable dotted codes.

Every failure the node reports is an `AxisError` carrying a `Code` from the catalogue
below. A code never changes meaning once published: agency connectors switch on it.
The fault side decides what happens next: the sender's fault is refused and never
retried (4xx), the node's fault is retried and alerted on (5xx). Warnings use the same
catalogue so that every code a user can see is documented in one place
(`docs/errors.md`, checked against this file by a test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Final


class Fault(str, Enum):
    SENDER = "sender"
    NODE = "node"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Code:
    """A stable error or warning code with its bilingual message."""

    id: str
    fault: Fault
    http_status: int
    meaning: str
    vi: str
    en: str
    severity: Severity = Severity.ERROR

    def error(
        self,
        detail: str = "",
        *,
        path: str | None = None,
        line: int | None = None,
        error_id: str | None = None,
        findings: tuple[Finding, ...] = (),
    ) -> AxisError:
        """The exception for this code, on the right side of the fault split."""
        cls: type[AxisError] = SenderFault if self.fault is Fault.SENDER else NodeFault
        return cls(self, detail, path=path, line=line, error_id=error_id, findings=findings)

    def finding(
        self, detail: str = "", *, path: str | None = None, line: int | None = None
    ) -> Finding:
        return Finding(code=self, detail=detail, path=path, line=line)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a package: an error that refuses it or a warning."""

    code: Code
    detail: str = ""
    path: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code.id,
            "severity": self.code.severity.value,
            "path": self.path,
            "line": self.line,
            "detail": self.detail,
            "message_vi": self.code.vi,
            "message_en": self.code.en,
        }


class AxisError(Exception):
    """Base of every error the node raises on purpose."""

    def __init__(
        self,
        code: Code,
        detail: str = "",
        *,
        path: str | None = None,
        line: int | None = None,
        error_id: str | None = None,
        findings: tuple[Finding, ...] = (),
    ) -> None:
        self.code = code
        self.detail = detail
        self.path = path
        self.line = line
        self.error_id = error_id
        self.findings = findings
        where = f" at {path}" if path else ""
        where += f" (line {line})" if line else ""
        super().__init__(f"{code.id}{where}: {detail or code.en}")

    @property
    def fault(self) -> Fault:
        return self.code.fault

    def as_finding(self) -> Finding:
        return Finding(code=self.code, detail=self.detail, path=self.path, line=self.line)


class SenderFault(AxisError):
    """The sender's fault: refuse, never retry."""


class NodeFault(AxisError):
    """The node's fault: retry, alert."""


@dataclass(slots=True)
class _Catalogue:
    codes: dict[str, Code] = field(default_factory=dict)

    def add(
        self,
        id_: str,
        fault: Fault,
        http_status: int,
        meaning: str,
        vi: str,
        en: str,
        severity: Severity = Severity.ERROR,
    ) -> Code:
        if id_ in self.codes:
            raise ValueError(f"duplicate error code {id_}")
        code = Code(id_, fault, http_status, meaning, vi, en, severity)
        self.codes[id_] = code
        return code


_c = _Catalogue()
S, N, W = Fault.SENDER, Fault.NODE, Severity.WARNING

# --- the package as bytes and XML -------------------------------------------------------
EMPTY = _c.add(
    "edxml.empty", S, 400, "The request carried no package.",
    "Không có gói tin edXML trong yêu cầu.", "The request contains no edXML package.")
TOO_LARGE = _c.add(
    "edxml.too_large", S, 413, "The package is larger than the configured limit.",
    "Gói tin vượt quá kích thước cho phép.", "The package exceeds the maximum allowed size.")
JUNK_BEFORE_PROLOG = _c.add(
    "edxml.junk_before_prolog", S, 400, "Bytes stand before the XML declaration or root.",
    "Có dữ liệu lạ trước phần khai báo XML.",
    "Unexpected bytes before the XML declaration.")
ENCODING_UNSUPPORTED = _c.add(
    "edxml.encoding_unsupported", S, 400,
    "The package declares an encoding other than UTF-8 (Art. 4, TCVN 6909).",
    "Gói tin phải dùng mã UTF-8 (TCVN 6909:2001).",
    "The package must be encoded in UTF-8 (TCVN 6909:2001).")
NOT_UTF8 = _c.add(
    "edxml.not_utf8", S, 400, "The bytes are not valid UTF-8.",
    "Gói tin chứa byte không hợp lệ theo UTF-8.", "The package contains invalid UTF-8 bytes.")
DOCTYPE_FORBIDDEN = _c.add(
    "edxml.doctype_forbidden", S, 400,
    "A DOCTYPE is present: DTDs and entities are refused (XXE, entity expansion).",
    "Gói tin chứa khai báo DOCTYPE, không được phép.",
    "DOCTYPE declarations are not allowed in packages.")
NOT_WELL_FORMED = _c.add(
    "edxml.not_well_formed", S, 400, "The XML is not well-formed (syntax error, truncation).",
    "Gói tin không đúng cú pháp XML.", "The package is not well-formed XML.")
TOO_DEEP = _c.add(
    "edxml.too_deep", S, 400, "Elements are nested deeper than the configured limit.",
    "Gói tin có cấu trúc lồng nhau quá sâu.", "The package nests elements too deeply.")
TOO_MANY_ELEMENTS = _c.add(
    "edxml.too_many_elements", S, 400, "The package has more elements than the limit.",
    "Gói tin có quá nhiều phần tử.", "The package contains too many elements.")
WRONG_ROOT = _c.add(
    "edxml.wrong_root", S, 400,
    "The root is not edXML in the QCVN 102:2016 namespace.",
    "Phần tử gốc không phải edXML theo QCVN 102:2016.",
    "The root element is not edXML in the QCVN 102:2016 namespace.")
SCHEMA_INVALID = _c.add(
    "edxml.schema_invalid", S, 400, "The package breaks the edXML schema.",
    "Gói tin không đúng lược đồ edXML.", "The package does not conform to the edXML schema.")
# --- cross-field rules ------------------------------------------------------------------
MISSING_RECIPIENT = _c.add(
    "edxml.missing_recipient", S, 400, "A document package has no To.",
    "Văn bản không có nơi nhận (To).", "The document names no recipient (To).")
MISSING_ELEMENT = _c.add(
    "edxml.missing_element", S, 400, "A required element is missing or empty.",
    "Thiếu thông tin bắt buộc.", "A required element is missing or empty.")
REFERENCE_WITHOUT_ATTACHMENT = _c.add(
    "edxml.reference_without_attachment", S, 400,
    "A manifest Reference has no Attachment with the same ContentId.",
    "Tệp khai báo trong danh mục không có nội dung đính kèm.",
    "A manifest reference has no matching attachment.")
ATTACHMENT_WITHOUT_REFERENCE = _c.add(
    "edxml.attachment_without_reference", S, 400,
    "An Attachment is not listed in the manifest.",
    "Tệp đính kèm không có trong danh mục.", "An attachment is not listed in the manifest.")
DUPLICATE_CONTENT_ID = _c.add(
    "edxml.duplicate_content_id", S, 400, "Two references or attachments share a ContentId.",
    "Trùng mã ContentId của tệp đính kèm.", "Two attachments share the same ContentId.")
BASE64_INVALID = _c.add(
    "edxml.base64_invalid", S, 400, "An attachment's content is not valid base64.",
    "Nội dung tệp đính kèm không giải mã được (base64).",
    "An attachment's content is not valid base64.")
ATTACHMENT_TYPE_MISMATCH = _c.add(
    "edxml.attachment_type_mismatch", S, 400,
    "The declared type of an attachment does not match its bytes (Art. 4.3).",
    "Loại tệp khai báo không khớp với nội dung thực của tệp.",
    "An attachment's declared type does not match its content.")
ATTACHMENT_TYPE_FORBIDDEN = _c.add(
    "edxml.attachment_type_forbidden", S, 400,
    "An attachment's real type is not allowed (Art. 4.3).",
    "Định dạng tệp đính kèm không được phép theo quy chế (Điều 4.3).",
    "The attachment's file type is not allowed (Art. 4.3).")
ZIP_UNSAFE = _c.add(
    "edxml.zip_unsafe", S, 400,
    "A zip attachment is hostile or too large (bomb, path traversal, too many entries).",
    "Tệp nén đính kèm không an toàn.", "A zip attachment is unsafe.")
FIELD_TOO_LONG = _c.add(
    "edxml.field_too_long", S, 400, "A field is longer than its limit.",
    "Trường thông tin vượt quá độ dài cho phép.", "A field exceeds its maximum length.")
PRIORITY_INVALID = _c.add(
    "edxml.priority_invalid", S, 400, "Priority is not an integer from 0 to 4 (Art. 7.2).",
    "Độ khẩn không hợp lệ (0–4).", "Priority must be an integer from 0 to 4.")
STATUS_CODE_UNKNOWN = _c.add(
    "edxml.status_code_unknown", S, 400, "StatusCode is not in the status table.",
    "Mã trạng thái không hợp lệ.", "Unknown status code.")
VALUE_INVALID = _c.add(
    "edxml.value_invalid", S, 400, "A coded or numeric field has a value outside its table.",
    "Giá trị của trường thông tin không hợp lệ.", "A field has an invalid value.")
DATE_INVALID = _c.add(
    "edxml.date_invalid", S, 400, "A date or timestamp of the package itself is impossible.",
    "Ngày tháng không hợp lệ.", "A date or timestamp is invalid.")
REFUSAL_REASON_MISSING = _c.add(
    "edxml.refusal_reason_missing", S, 400,
    "A refusal status (02) carries no reason in Description (Art. 6.4).",
    "Trạng thái từ chối (02) phải nêu lý do (Điều 6.4).",
    "A refusal (status 02) must give its reason (Art. 6.4).")
ATTACHMENT_NAME_UNSAFE = _c.add(
    "edxml.attachment_name_unsafe", S, 400,
    "An attachment's name (or description) carries a path, a device name or control "
    "characters: recipient systems save files by these names.",
    "Tên tệp đính kèm chứa đường dẫn, tên thiết bị hoặc ký tự điều khiển.",
    "An attachment name contains a path, a device name or control characters.")
MARKUP_IN_FIELD = _c.add(
    "edxml.markup_in_field", S, 400,
    "A field read as an identifier, code, name or payload holds markup (a comment, a "
    "processing instruction, a CDATA section splitting it, a child element): readers "
    "would disagree on its value.",
    "Trường định danh, mã, tên tệp hoặc nội dung tệp chứa thẻ đánh dấu (chú thích, chỉ "
    "thị xử lý, CDATA, phần tử con).",
    "An identifier, code, file name or payload field contains markup (comment, "
    "processing instruction, CDATA split, child element).")
REFERENCE_LINK_MISMATCH = _c.add(
    "edxml.reference_link_mismatch", S, 400,
    "A manifest Reference carries an xlink:href that does not name its own ContentId.",
    "Liên kết xlink:href của tệp trong danh mục không trỏ tới đúng tệp đính kèm.",
    "A manifest reference's xlink:href does not point to its own attachment.")
# --- warnings: untidy but usable (spec §7a) ---------------------------------------------
IDENTIFIER_SHAPE = _c.add(
    "edxml.identifier_shape", S, 200, "An agency identifier has an unexpected shape.",
    "Mã định danh cơ quan không đúng khuôn dạng.", "An agency identifier has an odd shape.", W)
DOCUMENT_ID_MISMATCH = _c.add(
    "edxml.document_id_mismatch", S, 200,
    "DocumentId does not match From and the promulgation data (Art. 8.3).",
    "Mã định danh văn bản không khớp với cơ quan gửi hoặc số, ngày ban hành.",
    "The document identifier does not match the sender or promulgation data.", W)
REFERENCED_DATE_INVALID = _c.add(
    "edxml.referenced_date_invalid", S, 200,
    "A referenced DocumentId carries an impossible date.",
    "Mã văn bản được tham chiếu chứa ngày không hợp lệ.",
    "A referenced document identifier has an impossible date.", W)
TRACE_ORGAN_MISSING = _c.add(
    "edxml.trace_organ_missing", S, 200, "A TraceHeader has no usable OrganId.",
    "Thông tin vết (TraceHeader) thiếu mã cơ quan.", "A trace header lacks an OrganId.", W)
TEXT_NOT_NFC = _c.add(
    "edxml.text_not_nfc", S, 200,
    "Text is not in Unicode NFC (precomposed Vietnamese, TCVN 6909:2001, Art. 4).",
    "Văn bản tiếng Việt không ở dạng dựng sẵn (TCVN 6909:2001).",
    "Vietnamese text is not precomposed (NFC, TCVN 6909:2001).", W)
MANIFEST_TYPE_DIFFERS = _c.add(
    "edxml.manifest_type_differs", S, 200,
    "The manifest Reference and the Attachment declare different types.",
    "Loại tệp trong danh mục khác với loại khai báo ở tệp đính kèm.",
    "The manifest and the attachment declare different content types.", W)
ATTACHMENT_NAME_DECEPTIVE = _c.add(
    "edxml.attachment_name_deceptive", S, 200,
    "An attachment's name (or description) can mislead a reader: bidirectional or "
    "invisible formatting characters, or a double extension ending in an executable one.",
    "Tên tệp đính kèm có thể gây nhầm lẫn (ký tự định hướng, ký tự ẩn, hai phần mở rộng).",
    "An attachment name may mislead (bidi or invisible characters, double extension).", W)
FIELD_OVER_STANDARD = _c.add(
    "edxml.field_over_standard", S, 200,
    "A field is longer than the standard's length but within the node's hard bound "
    "(spec §7a).",
    "Trường thông tin dài hơn độ dài theo quy chuẩn (vẫn được chấp nhận).",
    "A field is longer than the standard allows (accepted).", W)
# --- the node's own faults --------------------------------------------------------------
INTERNAL = _c.add(
    "node.internal", N, 500, "An unexpected fault inside the node.",
    "Lỗi hệ thống của trục liên thông.", "Internal error of the exchange node.")
CONFIG_INVALID = _c.add(
    "node.config_invalid", N, 500, "The node's configuration is invalid.",
    "Cấu hình của trục liên thông không hợp lệ.", "The node's configuration is invalid.")
# --- trust: signatures and certificates (Art. 7.1, 12.3) --------------------------------
SIGNATURE_ABSENT = _c.add(
    "trust.signature_absent", S, 400, "The package carries no signature.",
    "Gói tin không có chữ ký số.", "The package is not signed.")
SIGNATURE_PLACEHOLDER = _c.add(
    "trust.signature_placeholder", S, 400,
    "The signature is a placeholder (fake certificate, wrong namespace, empty value).",
    "Chữ ký số của gói tin là chữ ký giả (mẫu thử).",
    "The package carries a placeholder, not a real signature.")
SIGNATURE_INVALID = _c.add(
    "trust.signature_invalid", S, 400,
    "The signature does not verify: content altered or value wrong.",
    "Chữ ký số không hợp lệ: nội dung đã bị thay đổi.",
    "The signature is invalid: the content was altered.")
SIGNATURE_STRUCTURE = _c.add(
    "trust.signature_structure", S, 400,
    "The signature is not shaped as required (last child of edXMLHeader, one Reference "
    "URI=\"\", enveloped transform, unique Ids).",
    "Cấu trúc chữ ký số không đúng quy định.", "The signature structure is not allowed.")
REFERENCE_FORBIDDEN = _c.add(
    "trust.reference_forbidden", S, 400,
    "The signature references an external or local resource.",
    "Chữ ký số tham chiếu tới tài nguyên bên ngoài.",
    "The signature references an external resource.")
ALGORITHM_FORBIDDEN = _c.add(
    "trust.algorithm_forbidden", S, 400,
    "The signature uses an algorithm outside the allow-list (SHA-1 unless enabled).",
    "Thuật toán chữ ký số không được chấp nhận.", "The signature algorithm is not allowed.")
CERTIFICATE_UNTRUSTED = _c.add(
    "trust.certificate_untrusted", S, 400,
    "The signer's certificate does not chain to a configured trust anchor.",
    "Chứng thư số không do tổ chức chứng thực tin cậy cấp.",
    "The signing certificate does not chain to a trusted authority.")
CERTIFICATE_EXPIRED = _c.add(
    "trust.certificate_expired", S, 400, "The signer's certificate had expired at receipt.",
    "Chứng thư số đã hết hạn.", "The signing certificate has expired.")
CERTIFICATE_NOT_YET_VALID = _c.add(
    "trust.certificate_not_yet_valid", S, 400,
    "The signer's certificate was not yet valid at receipt.",
    "Chứng thư số chưa có hiệu lực.", "The signing certificate is not yet valid.")
CERTIFICATE_REVOKED = _c.add(
    "trust.certificate_revoked", S, 400, "The signer's certificate is revoked (CRL).",
    "Chứng thư số đã bị thu hồi.", "The signing certificate has been revoked.")
SIGNER_NOT_SENDER = _c.add(
    "trust.signer_not_sender", S, 403,
    "The certificate is bound to another agency than the package's sender.",
    "Chữ ký số không thuộc cơ quan gửi văn bản.",
    "The signature belongs to another agency than the sender.")
SIGNER_UNBOUND = _c.add(
    "trust.signer_unbound", S, 403,
    "The signer's certificate is not bound to any registered agency.",
    "Chứng thư số chưa được đăng ký cho cơ quan nào.",
    "The signing certificate is not registered to any agency.")
REVOCATION_UNKNOWN = _c.add(
    "trust.revocation_unknown", N, 503,
    "No fresh CRL is available for the signer's issuer.",
    "Chưa kiểm tra được tình trạng thu hồi chứng thư số.",
    "The certificate's revocation status could not be checked.")
SIGNING_FAILED = _c.add(
    "trust.signing_failed", N, 500, "The node could not sign what it emits.",
    "Trục liên thông không ký được gói tin.", "The node failed to sign its message.")
LEGACY_SHA1_ADMITTED = _c.add(
    "trust.legacy_sha1", S, 200,
    "A legacy RSA-SHA1 signature was admitted because trust.allow_sha1 is on.",
    "Chấp nhận chữ ký số theo thuật toán cũ SHA-1.",
    "A legacy SHA-1 signature was accepted.", W)
UNSIGNED_ADMITTED = _c.add(
    "trust.unsigned_admitted", S, 200,
    "An unsigned or placeholder-signed package was admitted by the per-agency migration "
    "exception list (trust.admit_unsigned).",
    "Chấp nhận gói tin chưa có chữ ký số hợp lệ theo danh sách ngoại lệ chuyển tiếp.",
    "An unsigned package was accepted under the migration exception list.", W)

# --- routing and policy (issue 4) ------------------------------------------------------
UNKNOWN_AGENCY = _c.add(
    "route.unknown_agency", S, 404, "A recipient is not in the agency registry (Art. 8.2).",
    "Cơ quan nhận không có trong danh bạ mã định danh.",
    "The recipient is not a registered agency.")
RECIPIENT_SUSPENDED = _c.add(
    "route.recipient_suspended", S, 409, "A recipient is suspended or retired.",
    "Cơ quan nhận đang bị tạm dừng kết nối.", "The recipient is suspended.")
SENDER_UNKNOWN = _c.add(
    "route.sender_unknown", S, 403, "The sender is not a registered agency.",
    "Cơ quan gửi chưa được đăng ký trên trục liên thông.",
    "The sending agency is not registered.")
SENDER_SUSPENDED = _c.add(
    "route.sender_suspended", S, 403, "The sender is suspended or retired (Art. 22).",
    "Cơ quan gửi đang bị tạm dừng kết nối.", "The sending agency is suspended.")
SECRET_REFUSED = _c.add(
    "policy.secret_refused", S, 422,
    "The document declares a state-secret classification: never on this axis (Art. 1.2).",
    "Văn bản mật không được gửi qua trục liên thông (Điều 1.2).",
    "Classified documents may not travel on this axis (Art. 1.2).")
RECALL_TARGET_UNKNOWN = _c.add(
    "route.recall_target_unknown", S, 404,
    "A recall or status names a document this node never delivered for that pair.",
    "Không tìm thấy văn bản được thu hồi hoặc được phản hồi.",
    "The document named by the recall or status is unknown.")
DELIVERY_UNKNOWN = _c.add(
    "route.delivery_unknown", S, 404, "No such delivery for the calling agency.",
    "Không tìm thấy văn bản cần nhận.", "No such document for this agency.")
DELIVERY_WITHDRAWN = _c.add(
    "route.delivery_withdrawn", S, 410, "The copy was recalled by its sender (Art. 9.3).",
    "Văn bản đã được cơ quan gửi thu hồi.", "The document was recalled by its sender.")
ILLEGAL_TRANSITION = _c.add(
    "route.illegal_transition", N, 500,
    "A delivery was asked for a state change its state machine does not have "
    "(axis/route/delivery.py): a bug; the step was rolled back.",
    "Lỗi hệ thống: chuyển trạng thái gửi nhận văn bản không hợp lệ.",
    "Internal error: an invalid delivery state change.")
NOT_RECIPIENT = _c.add(
    "route.not_recipient", S, 403,
    "A status was sent by an agency that did not receive the document.",
    "Cơ quan gửi trạng thái không phải là nơi nhận văn bản.",
    "The status comes from an agency that did not receive the document.")
UPDATE_TARGET_UNKNOWN = _c.add(
    "route.update_target_unknown", S, 404,
    "An update (2) or replacement (3) names a document its sender did not send through "
    "this node: only the original sender may update or replace its document.",
    "Không tìm thấy văn bản do cơ quan gửi ban hành để cập nhật hoặc thay thế.",
    "The document to update or replace is not one the sender sent.")

# --- transport and storage: the node's own faults (retried, alerted) -------------------
BROKER_UNAVAILABLE = _c.add(
    "node.broker_unavailable", N, 503, "The message broker cannot be reached or refused.",
    "Hệ thống hàng đợi thông điệp tạm thời không sẵn sàng.",
    "The message broker is temporarily unavailable.")
BROKER_NOT_CONFIRMED = _c.add(
    "node.broker_not_confirmed", N, 503,
    "The broker did not confirm a publication; it stays in the outbox and is retried.",
    "Hệ thống hàng đợi chưa xác nhận đã nhận thông điệp.",
    "The broker did not confirm the message.")
STORE_UNAVAILABLE = _c.add(
    "node.store_unavailable", N, 503, "The database or the package store cannot be used.",
    "Cơ sở dữ liệu của trục liên thông tạm thời không sẵn sàng.",
    "The node's database is temporarily unavailable.")
SCHEMA_OUTDATED = _c.add(
    "node.schema_outdated", N, 503,
    "The database schema is not at this node's revision (empty, older or newer); commands "
    "that only read never migrate: run `axis db upgrade`.",
    "Lược đồ cơ sở dữ liệu chưa đúng phiên bản; quản trị viên cần chạy `axis db upgrade`.",
    "The database schema is not up to date; the operator must run `axis db upgrade`.")
STORE_CONFLICT = _c.add(
    "node.store_conflict", N, 503,
    "A concurrent writer got there first (unique key, lock or deadlock): the step was "
    "rolled back as a whole and is retried.",
    "Xung đột ghi dữ liệu đồng thời; yêu cầu chưa được ghi nhận, xin gửi lại.",
    "A concurrent update conflicted; nothing was recorded, please retry.")
PACKAGE_MISSING = _c.add(
    "node.package_missing", N, 500, "A stored package's bytes are missing from the package "
    "store.",
    "Không tìm thấy nội dung gói tin đã lưu trên trục.",
    "The stored package content is missing.")
PACKAGE_CORRUPT = _c.add(
    "node.package_corrupt", N, 500,
    "A stored package's bytes no longer match their SHA-256 (bit rot or tampering).",
    "Nội dung gói tin đã lưu bị hỏng hoặc bị sửa đổi.",
    "The stored package content is corrupted.")
JOURNAL_BROKEN = _c.add(
    "node.journal_broken", N, 500,
    "The journal cannot be chained: a sealed entry was removed or rewritten, an entry does "
    "not match its own hash, or (SQLite) a number is missing. Steps are still journaled; "
    "the sealer stops until an auditor has looked (`axis audit verify`).",
    "Nhật ký liên thông không toàn vẹn; trục tạm dừng niêm phong nhật ký.",
    "The message journal is inconsistent; the node stops sealing it.")
JOURNAL_TRUNCATED = _c.add(
    "node.journal_truncated", N, 500,
    "The journal no longer reaches a signed checkpoint of it: sealed entries were removed "
    "from the end (truncated) or the entry at the checkpoint's seq was rewritten (rolled "
    "back). The node signs no checkpoint over it; `axis audit verify --checkpoint` shows "
    "where.",
    "Nhật ký liên thông đã bị cắt bớt hoặc bị quay lui so với điểm kiểm tra đã ký.",
    "The message journal was truncated or rolled back below a signed checkpoint.")
EVIDENCE_NOTHING = _c.add(
    "audit.nothing_to_export", S, 404,
    "An evidence bundle was asked for a document (or a period) of which the node holds no "
    "package (`axis audit export`).",
    "Trục không lưu gói tin nào của văn bản (hoặc khoảng thời gian) này để xuất bằng chứng.",
    "The node holds no package of this document (or period) to export as evidence.")

# --- the agency registry (Art. 8.2 identifiers, Art. 22 accounts) ---------------------
REGISTRY_UNKNOWN_AGENCY = _c.add(
    "registry.unknown_agency", S, 404,
    "No registered agency has this identifier, in either form (Art. 8.2).",
    "Không có cơ quan nào mang mã định danh này trong danh bạ.",
    "No registered agency has this identifier.")
REGISTRY_DUPLICATE_AGENCY = _c.add(
    "registry.duplicate_agency", S, 409,
    "An identifier (either form) is already used by another registered agency.",
    "Mã định danh đã được dùng cho một cơ quan khác trong danh bạ.",
    "The identifier is already used by another agency.")
REGISTRY_INVALID_IDENTIFIER = _c.add(
    "registry.invalid_identifier", S, 400,
    "An agency identifier breaks the registry's rules (QCVN 102 form required inside the "
    "province; at most 64 characters, no spaces, elsewhere).",
    "Mã định danh cơ quan không hợp lệ.", "The agency identifier is invalid.")
REGISTRY_INVALID_AGENCY = _c.add(
    "registry.invalid_agency", S, 400,
    "A field of an agency entry is missing or invalid (name, level, delivery mode, "
    "endpoint, contact).",
    "Thông tin cơ quan không hợp lệ.", "The agency entry is invalid.")
REGISTRY_INVALID_PARENT = _c.add(
    "registry.invalid_parent", S, 400,
    "The parent agency is not registered, is retired, or would make a cycle.",
    "Cơ quan cấp trên không hợp lệ.", "The parent agency is invalid.")
REGISTRY_INVALID_TRANSITION = _c.add(
    "registry.invalid_transition", S, 409,
    "The state change is not allowed (active ↔ suspended, any → retired; retired is final).",
    "Không thể chuyển trạng thái cơ quan như yêu cầu.",
    "The agency's state cannot change this way.")
REGISTRY_REASON_MISSING = _c.add(
    "registry.reason_missing", S, 400,
    "A registry change names no actor or no reason: every change is kept with who and why "
    "(Art. 22).",
    "Thay đổi danh bạ phải nêu người thực hiện và lý do.",
    "A registry change must give who made it and why.")
REGISTRY_INVALID_CERTIFICATE = _c.add(
    "registry.invalid_certificate", S, 400,
    "A certificate fingerprint is not a SHA-256 digest (64 hexadecimal digits).",
    "Dấu vân tay chứng thư số không hợp lệ (SHA-256).",
    "The certificate fingerprint is not a SHA-256 digest.")
REGISTRY_CERTIFICATE_BOUND = _c.add(
    "registry.certificate_bound", S, 409,
    "The certificate is already bound to another agency.",
    "Chứng thư số đã được gắn với một cơ quan khác.",
    "The certificate is already bound to another agency.")
REGISTRY_UNKNOWN_CREDENTIAL = _c.add(
    "registry.unknown_credential", S, 404, "No credential has this system id.",
    "Không tìm thấy tài khoản kết nối.", "No such system credential.")
REGISTRY_DUPLICATE_CREDENTIAL = _c.add(
    "registry.duplicate_credential", S, 409, "A credential with this system id exists.",
    "Tài khoản kết nối đã tồn tại.", "A credential with this system id already exists.")
REGISTRY_CREDENTIAL_INVALID = _c.add(
    "registry.credential_invalid", S, 401,
    "Authentication failed: unknown system, wrong secret, revoked credential or agency not "
    "active (Art. 22). Which one is not told.",
    "Xác thực hệ thống kết nối không thành công.", "Authentication failed.")
REGISTRY_IMPORT_INVALID = _c.add(
    "registry.import_invalid", S, 400,
    "A registry import file is unreadable or has invalid rows; nothing was written.",
    "Tệp nhập danh bạ không hợp lệ; chưa có thay đổi nào được ghi.",
    "The registry import file is invalid; nothing was written.")
REGISTRY_CONFLICT = _c.add(
    "registry.conflict", S, 409,
    "The database refused the change (a concurrent change won); read again and retry.",
    "Thay đổi danh bạ bị từ chối do xung đột với thay đổi khác.",
    "The registry change conflicts with another change.")

# --- the agency API: authentication of agency systems (issue 5, Art. 22) --------------
AUTH_MISSING = _c.add(
    "auth.missing", S, 401,
    "The request lacks X-Axis-System-Id, X-Axis-Timestamp or X-Axis-Signature, or one of "
    "them is malformed (deny by default).",
    "Yêu cầu thiếu thông tin xác thực của hệ thống kết nối.",
    "The request carries no valid authentication headers.")
AUTH_SIGNATURE_INVALID = _c.add(
    "auth.signature_invalid", S, 401,
    "The request signature (HMAC-SHA256 over method, target, timestamp and body hash) "
    "does not match.",
    "Chữ ký xác thực của yêu cầu không đúng.", "The request signature is invalid.")
AUTH_TIMESTAMP_INVALID = _c.add(
    "auth.timestamp_invalid", S, 401,
    "The request timestamp is more than 5 minutes away from the node's clock.",
    "Thời điểm gửi yêu cầu lệch quá 5 phút so với đồng hồ của trục.",
    "The request timestamp is outside the allowed 5-minute window.")
AUTH_REPLAYED = _c.add(
    "auth.replayed", S, 401,
    "The same signed request was already received: each signature is accepted once.",
    "Yêu cầu đã được gửi trước đó (phát lại), không được chấp nhận.",
    "The request was already received (replay).")
AUTH_SENDER_MISMATCH = _c.add(
    "auth.sender_mismatch", S, 403,
    "The package's signed sender (From/OrganId) is neither the authenticated agency nor "
    "one of its registered child units.",
    "Cơ quan gửi trong gói tin không phải là cơ quan đã xác thực hoặc đơn vị trực thuộc.",
    "The package sender is not the authenticated agency or one of its units.")
AUTH_CLIENT_CERTIFICATE = _c.add(
    "auth.client_certificate", S, 403,
    "Mutual TLS: the client certificate is missing or not bound to the authenticated "
    "agency in the registry.",
    "Chứng thư số của hệ thống kết nối không hợp lệ hoặc không thuộc cơ quan đã xác thực.",
    "The client certificate is missing or not bound to the agency.")
AUTH_RATE_LIMITED = _c.add(
    "auth.rate_limited", S, 429,
    "The agency sent more requests than its rate limit; retry after Retry-After seconds.",
    "Cơ quan gửi quá nhiều yêu cầu; vui lòng thử lại sau.",
    "Too many requests from this agency; retry later.")
# --- the agency API: requests the HTTP edge cannot use -------------------------------
API_INVALID_REQUEST = _c.add(
    "api.invalid_request", S, 422,
    "A parameter or the JSON body is missing or invalid.",
    "Tham số của yêu cầu không hợp lệ.", "A request parameter is missing or invalid.")
API_NOT_FOUND = _c.add(
    "api.not_found", S, 404, "No such endpoint.",
    "Không có chức năng này trên trục liên thông.", "No such endpoint.")
API_METHOD_NOT_ALLOWED = _c.add(
    "api.method_not_allowed", S, 405, "The endpoint does not accept this HTTP method.",
    "Phương thức HTTP không được hỗ trợ.", "The HTTP method is not allowed here.")
MESSAGE_TYPE_MISMATCH = _c.add(
    "policy.message_type_mismatch", S, 400,
    "messageType (edoc or status) does not match the package that was sent.",
    "Loại gói tin (messageType) không khớp với nội dung gói tin.",
    "messageType does not match the package.")
API_DUPLICATE_PARAMETER = _c.add(
    "api.duplicate_parameter", S, 422,
    "A parameter the operation reads once (query parameter, form field or part, SOAP "
    "element, authentication header) was given more than once: refused, never guessed.",
    "Một tham số của yêu cầu được gửi nhiều lần.",
    "A request parameter was given more than once.")
API_CLIENT_DISCONNECTED = _c.add(
    "api.client_disconnected", S, 400,
    "The client closed the connection before its request body was complete; nothing was "
    "done with it.",
    "Hệ thống kết nối đã ngắt trước khi gửi hết yêu cầu.",
    "The client disconnected before sending the whole request.")
API_DOCUMENT_UNKNOWN = _c.add(
    "api.document_unknown", S, 404,
    "No trail of this document that the calling agency may see (its own documents only).",
    "Không tìm thấy văn bản của cơ quan với mã định danh này.",
    "No document with this identifier for the calling agency.")

# --- the admin and operator API (issue 5; Art. 21.3 notices, Art. 22 accounts) ---------
AUTH_ADMIN_REQUIRED = _c.add(
    "auth.admin_required", S, 401,
    "An admin route was called without a valid administrator token (Authorization: Bearer; "
    "agency credentials never open admin routes).",
    "Cần mã truy cập của quản trị viên trục liên thông.",
    "An administrator token is required.")
AUTH_ADMIN_FORBIDDEN = _c.add(
    "auth.admin_forbidden", S, 403,
    "The administrator token's role does not allow this route (operator: read and notices; "
    "admin: every change).",
    "Vai trò của quản trị viên không được phép thực hiện thao tác này.",
    "The administrator's role does not allow this operation.")
NOTICE_NUMBER_USED = _c.add(
    "notice.number_used", S, 409,
    "A maintenance notice with this number was already sent with a different content "
    "(Art. 8.3, 12.2: a document number is unique in its issuer's register).",
    "Số văn bản thông báo đã được dùng cho một thông báo khác.",
    "This notice number was already used for another notice.")
PUSH_DEAD_LETTERED = _c.add(
    "node.push_dead_lettered", N, 502,
    "The agency's push endpoint did not accept a package within the bounded retries: the "
    "delivery is marked failed (dead letter) and an alert is logged.",
    "Không chuyển được văn bản tới hệ thống của cơ quan nhận sau số lần thử cho phép.",
    "The package could not be pushed to the agency's endpoint; delivery failed.")

# --- federation: peers, the national axis, the compatibility listener (issue 10) ---------
PEER_UNKNOWN = _c.add(
    "peer.unknown", S, 404,
    "No peer node of that name is registered (axis peer list).",
    "Không có nút liên thông (peer) với tên này.",
    "No peer node of that name.")
PEER_INVALID = _c.add(
    "peer.invalid", S, 400,
    "A peer's definition is incomplete or contradictory (name, kind, endpoint, system id).",
    "Thông tin nút liên thông không hợp lệ.",
    "The peer's definition is invalid.")
PEER_UNREACHABLE = _c.add(
    "peer.unreachable", N, 503,
    "The peer node could not be reached (connection refused, timeout, TLS): the copy stays "
    "in the peer's queue and is retried with back-off.",
    "Không kết nối được tới nút liên thông; văn bản được giữ lại và gửi lại sau.",
    "The peer node could not be reached; the document is kept and retried.")
PEER_REFUSED = _c.add(
    "peer.refused", N, 502,
    "The peer answered with status FAIL (its ErrorCode and ErrorDesc are in the detail).",
    "Nút liên thông từ chối yêu cầu.",
    "The peer node refused the request.")
PEER_BAD_ANSWER = _c.add(
    "peer.bad_answer", N, 502,
    "The peer's answer is not the protocol's result envelope (not JSON, no status, a "
    "non-200 answer).",
    "Phản hồi của nút liên thông không đúng giao thức.",
    "The peer node's answer does not follow the protocol.")
PEER_DEAD_LETTERED = _c.add(
    "node.peer_dead_lettered", N, 502,
    "A copy for an agency served by a peer was not accepted by that peer within the bounded "
    "retries: it is marked failed (dead letter) until an administrator resends it.",
    "Không chuyển được văn bản tới nút liên thông sau số lần thử cho phép.",
    "The document could not be forwarded to the peer node; delivery failed.")
PEER_SNAPSHOT_INVALID = _c.add(
    "peer.snapshot_invalid", S, 400,
    "A peer's registry snapshot is not signed by that peer's node key, is malformed, or is "
    "older than the one already held.",
    "Bản danh mục cơ quan của nút liên thông không hợp lệ (chữ ký, phiên bản).",
    "The peer's registry snapshot is invalid (signature or version).")
REGISTRY_SYNC_CONFLICT = _c.add(
    "registry.sync_conflict", N, 200,
    "The national registry sync found a unit that conflicts with the local registry (claimed "
    "by two centers, or an agency this node serves): it is kept as it was and shown to the "
    "administrator, never silently overwritten.",
    "Đồng bộ danh mục phát hiện xung đột; dữ liệu cũ được giữ nguyên để quản trị xử lý.",
    "The registry sync found a conflict; the entry was kept for the administrator.",
    W)
VDXP_DISABLED = _c.add(
    "vdxp.disabled", S, 403,
    "The national-axis compatibility mode is off, or not enabled for this system id "
    "(vdxp.systems).",
    "Chế độ tương thích trục quốc gia chưa được bật cho hệ thống này.",
    "The national-axis compatibility mode is not enabled for this system.")
VDXP_SOURCE_NOT_ALLOWED = _c.add(
    "vdxp.source_not_allowed", S, 403,
    "The call came from an address or client certificate that this system id is not bound "
    "to (the compatibility mode's compensation for its weak signature).",
    "Yêu cầu đến từ địa chỉ hoặc chứng thư không được phép cho hệ thống này.",
    "The call came from an address or certificate not allowed for this system.")
VDXP_BAD_SIGNATURE = _c.add(
    "vdxp.bad_signature", S, 401,
    "The XroadVnpt-* signature headers are missing, do not verify (HMAC-SHA256 over the "
    "signed JSON), or the signed values differ from the headers sent.",
    "Chữ ký XroadVnpt của yêu cầu không hợp lệ.",
    "The request's XroadVnpt signature is invalid.")
VDXP_STALE = _c.add(
    "vdxp.stale", S, 401,
    "The request's XroadVnpt-timestamp is outside the window the system is allowed, or the "
    "same signed request was already used outside the replay policy.",
    "Thời điểm của yêu cầu nằm ngoài khoảng cho phép hoặc yêu cầu bị gửi lặp lại.",
    "The request's timestamp is out of range, or the request was replayed.")
VDXP_BAD_REQUEST = _c.add(
    "vdxp.bad_request", S, 400,
    "A header or part the operation needs is missing or malformed (docId, status, "
    "messagetype, file_doc, hash-file).",
    "Yêu cầu thiếu hoặc sai tham số.",
    "A required header or part is missing or malformed.")

# --- tasks assigned through documents (issue 12; Art. 13-16) ------------------------------
TASK_EXTENSION_INVALID = _c.add(
    "task.extension_invalid", S, 400,
    "The task extension (docs/tasks.md) breaks a rule its XSD cannot say: a task code twice "
    "in one list, tasks in a status package or events in a document, an approved extension "
    "without its new deadline, a return or support refusal without a reason.",
    "Thông tin nhiệm vụ kèm theo gói tin không hợp lệ.",
    "The task information carried by the package is invalid.")
TASK_UNKNOWN = _c.add(
    "task.unknown", S, 404,
    "A reply (ResponseForTask/TaskCode) or a task event names a task code this node does not "
    "track.",
    "Không tìm thấy nhiệm vụ với mã này.",
    "No task with this code.")
TASK_TRANSITION_INVALID = _c.add(
    "task.transition_invalid", S, 409,
    "The event is not allowed in the task's current state (e.g. approving a task that has "
    "no reply, replying to a completed or returned task): axis/tasks/lifecycle.py.",
    "Thao tác không phù hợp với trạng thái hiện tại của nhiệm vụ.",
    "This action is not allowed in the task's current state.")
TASK_ACTOR_NOT_ALLOWED = _c.add(
    "task.actor_not_allowed", S, 403,
    "The agency may not act on this task this way: only the lead agency receives, returns, "
    "replies and asks for an extension; only the Office approves or refuses; only a "
    "supporting agency refuses support (Art. 13.3, 13.5, 14.4.b).",
    "Cơ quan không có quyền thực hiện thao tác này đối với nhiệm vụ.",
    "The agency may not perform this action on the task.")
TASK_EXTENSION_LATE = _c.add(
    "task.extension_late", S, 409,
    "An extension was requested after the task's current deadline: the task stays "
    "\"not completed, overdue\" (Art. 13.5).",
    "Xin gia hạn sau khi đã hết thời hạn: nhiệm vụ được coi là chưa hoàn thành, quá hạn.",
    "Extension requested after the deadline: the task counts as not completed, overdue.")
TASK_REASON_MISSING = _c.add(
    "task.reason_missing", S, 400,
    "Returning a task or refusing support needs a written reason (Art. 13.3.a, 14.4.b).",
    "Cần nêu rõ lý do trả lại nhiệm vụ hoặc từ chối phối hợp.",
    "A reason is required to return a task or refuse support.")
TASK_DEADLINE_INVALID = _c.add(
    "task.deadline_invalid", S, 400,
    "An approved extension's new deadline is not after the task's current deadline.",
    "Thời hạn mới phải sau thời hạn hiện tại của nhiệm vụ.",
    "The new deadline must be after the current deadline.")
TASK_PERIOD_INVALID = _c.add(
    "task.period_invalid", S, 400,
    "A report period is not one of YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY or FROM..TO (ISO dates), "
    "or its window is empty.",
    "Kỳ báo cáo không hợp lệ.",
    "The report period is invalid.")

CATALOGUE: Final = MappingProxyType(_c.codes)
del _c, S, N, W


def code(id_: str) -> Code:
    """Look a code up by its id (for tests, docs and the golden corpus)."""
    return CATALOGUE[id_]
