"""The words of a task report, in Vietnamese and English (agency staff read it: both)."""

from __future__ import annotations

from typing import Literal

from axis.tasks.lifecycle import Action
from axis.tasks.report import Bucket

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("BÁO CÁO TÌNH HÌNH, KẾT QUẢ THỰC HIỆN NHIỆM VỤ "
              "DO UBND TỈNH, CHỦ TỊCH UBND TỈNH GIAO",
              "Report on the tasks assigned by the Provincial People's Committee "
              "and its Chairman"),
    "basis": ("Theo dõi, đôn đốc theo Điều 14 khoản 3 điểm đ Quy chế; số liệu từ trục "
              "liên thông văn bản: thời điểm hoàn thành là thời điểm trục tiếp nhận văn bản "
              "trả lời được phê duyệt (Điều 13.4).",
              "Monitoring under Art. 14.3.đ of the Regulation; figures from the document "
              "exchange node: the completion time is when the node accepted the approved "
              "reply (Art. 13.4)."),
    "period": ("Kỳ báo cáo", "Period"),
    "window": ("Từ ngày … đến ngày", "From … to"),
    "as_of": ("Số liệu tính đến", "Figures as of"),
    "issuer": ("Đơn vị báo cáo", "Reported by"),
    "signed_by": ("Ký số bởi", "Digitally signed by"),
    "agency": ("Cơ quan chủ trì", "Lead agency"),
    "agency_id": ("Mã định danh", "Identifier"),
    "total_row": ("Tổng cộng", "Total"),
    "total": ("Tổng số nhiệm vụ", "Tasks"),
    "open_in_time": ("Chưa hoàn thành, trong hạn (gồm chưa đến hạn)",
                     "Not completed, within the deadline (incl. not yet due)"),
    "of_which_not_yet_due": ("trong đó chưa đến hạn", "of which not yet due"),
    "rate": ("Tỷ lệ", "Rate"),
    "count": ("Số lượng", "Number"),
    "summary": ("Tổng hợp", "Totals"),
    "per_agency": ("Theo cơ quan", "Per agency"),
    "drill": ("Danh sách nhiệm vụ", "Task list"),
    "table_1": ("Bảng 1. Kết quả thực hiện nhiệm vụ theo cơ quan chủ trì",
                "Table 1. Results per lead agency"),
    "charts": ("Biểu đồ", "Charts"),
    "chart_agencies": ("Nhiệm vụ theo cơ quan chủ trì", "Tasks per lead agency"),
    "chart_total": ("Tỷ lệ chung", "Overall shares"),
    "annex": ("Phụ lục. Danh sách nhiệm vụ theo từng chỉ tiêu",
              "Annex. The tasks behind every number"),
    "annex_note": ("Mỗi nhiệm vụ kèm các văn bản chứng minh (mã định danh văn bản, "
                   "DocumentId) và thời điểm trục tiếp nhận.",
                   "Each task with the documents that prove it (DocumentId) and the times "
                   "the node accepted them."),
    "code": ("Mã nhiệm vụ", "Task code"),
    "content": ("Nội dung", "Content"),
    "bucket": ("Chỉ tiêu", "Bucket"),
    "assigning_document": ("Văn bản giao", "Assigning document"),
    "assigned_at": ("Thời điểm giao", "Assigned at"),
    "original_deadline": ("Hạn ban đầu", "Original deadline"),
    "deadline": ("Hạn xử lý", "Deadline"),
    "deadline_documents": ("Văn bản gia hạn", "Extension documents"),
    "completed_at": ("Thời điểm hoàn thành", "Completed at"),
    "completion_document": ("Văn bản trả lời được phê duyệt", "Approved reply"),
    "evidence": ("Văn bản chứng minh", "Evidence documents"),
    "none": ("Không có nhiệm vụ trong kỳ.", "No task in this period."),
    "signed": ("Báo cáo được ký số bởi trục liên thông văn bản; kiểm tra chữ ký trong "
               "phần mềm đọc PDF.",
               "Digitally signed by the document exchange node; check the signature in "
               "a PDF reader."),
    "page": ("Trang", "Page"),
}

_BUCKETS: dict[Bucket, tuple[str, str]] = {
    Bucket.COMPLETED_ON_TIME: ("Đến hạn, hoàn thành đúng hạn", "Due, completed on time"),
    Bucket.COMPLETED_LATE: ("Đến hạn, hoàn thành quá hạn", "Due, completed late"),
    Bucket.OPEN_WITHIN_DEADLINE: ("Chưa hoàn thành, trong hạn",
                                  "Not completed, within the deadline"),
    Bucket.OPEN_OVERDUE: ("Chưa hoàn thành, quá hạn", "Not completed, overdue"),
    Bucket.NOT_YET_DUE: ("Chưa đến hạn", "Not yet due"),
}

_ACTIONS: dict[Action, tuple[str, str]] = {
    Action.ASSIGNED: ("giao", "assigned"),
    Action.RECEIVED: ("nhận", "received"),
    Action.REPLIED: ("trả lời", "replied"),
    Action.COMPLETION_APPROVED: ("phê duyệt hoàn thành", "completion approved"),
    Action.COMPLETION_REFUSED: ("không phê duyệt", "completion refused"),
    Action.RETURNED: ("trả lại", "returned"),
    Action.EXTENSION_REQUESTED: ("xin gia hạn", "extension requested"),
    Action.EXTENSION_APPROVED: ("đồng ý gia hạn", "extension approved"),
    Action.EXTENSION_REFUSED: ("không đồng ý gia hạn", "extension refused"),
    Action.SUPPORT_REFUSED: ("từ chối phối hợp", "support refused"),
    Action.CORRECTED: ("điều chỉnh", "corrected"),
}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "vi" else pair[1]


def text(key: str, lang: Lang) -> str:
    return _pick(_TEXT[key], lang)


def both(key: str, lang: Lang) -> tuple[str, str]:
    """(in `lang`, in the other language)."""
    vi, en = _TEXT[key]
    return (vi, en) if lang == "vi" else (en, vi)


def bucket(b: Bucket, lang: Lang) -> str:
    return _pick(_BUCKETS[b], lang)


def bucket_both(b: Bucket, lang: Lang) -> tuple[str, str]:
    vi, en = _BUCKETS[b]
    return (vi, en) if lang == "vi" else (en, vi)


def action(a: Action, lang: Lang) -> str:
    return _pick(_ACTIONS[a], lang)
