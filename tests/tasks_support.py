"""Values shared by the task tests: the office calendar as shipped, an assigning document
with three tasks to three leads, and the fixed instants the scenarios use."""

from __future__ import annotations

from datetime import date, datetime

from axis.calendar import WorkCalendar
from axis.calendar_file import load_calendar
from axis.clock import VN_TZ
from axis.edxml.model import DocCode, DocumentHeader, DocumentPackage, Organ
from axis.edxml.writer import build
from axis.packaged import DEFAULT_CALENDAR_FILE
from axis.tasks.extension import add_extension, mint_code
from axis.tasks.model import Agency, Officer, TaskEntry, TaskExtension

UBND = "000.00.00.H37"  # issues the assigning documents: the Office acts in its name
NOI_VU = "000.00.02.H37"
TAI_CHINH = "000.00.03.H37"
KE_HOACH = "000.00.04.H37"
DOC_ID = "000.00.00.H37,2026/12/01,123/UBND-KT"
ISSUED = date(2026, 12, 1)
FOLLOWER = Officer("Nguyễn Thị Lan", staff_id="VP-017", department="Phòng Kinh tế",
                   email="lannt@langson.gov.vn")


def at(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def office_calendar() -> WorkCalendar:
    return load_calendar(DEFAULT_CALENDAR_FILE)


def entries() -> tuple[TaskEntry, ...]:
    code = [mint_code(UBND, ISSUED, "123", i) for i in (1, 2, 3)]
    return (
        TaskEntry(code[0], "Rà soát, báo cáo giải ngân vốn đầu tư công năm 2026.",
                  Agency(TAI_CHINH, "Sở Tài chính"), date(2026, 12, 15), FOLLOWER,
                  supporting=(Agency(KE_HOACH, "Sở Kế hoạch và Đầu tư"),)),
        TaskEntry(code[1], "Tham mưu phương án sắp xếp biên chế năm 2027.",
                  Agency(NOI_VU, "Sở Nội vụ"), date(2026, 12, 31), FOLLOWER),
        TaskEntry(code[2], "Xây dựng kế hoạch đầu tư công trung hạn.",
                  Agency(KE_HOACH), date(2026, 12, 10), FOLLOWER,
                  supporting=(Agency(TAI_CHINH), Agency(NOI_VU))),
    )


def assigning_document(recipients: tuple[str, ...] = (TAI_CHINH, NOI_VU, KE_HOACH)
                       ) -> DocumentPackage:
    return DocumentPackage(header=DocumentHeader(
        sender=Organ(UBND, name="Ủy ban nhân dân tỉnh Lạng Sơn"),
        recipients=tuple(Organ(r) for r in recipients),
        document_id=DOC_ID,
        code=DocCode("123", "UBND-KT"),
        promulgation_date=ISSUED,
        subject="Về việc triển khai nhiệm vụ cuối năm 2026",
        steering_type=1,
    ))


def assigning_package() -> bytes:
    """The assigning document's bytes, unsigned, carrying the three tasks."""
    return add_extension(build(assigning_document()), TaskExtension(tasks=entries()))
