"""A realistic quarter of tasks for the report renderings (tests and docs/tasks/*.png):
four assigning documents of the Provincial People's Committee, five lead agencies, every
national bucket, extensions, a refused completion, a return and a support refusal, all
made with the lifecycle functions on fixed instants.

Period 2026-Q4 under the 15th → 14th practice: 15 Sep → 14 Dec 2026; the report is made on
15 Dec 2026 at 09:00, so a completion approved that morning counts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from tasks_support import FOLLOWER, KE_HOACH, NOI_VU, TAI_CHINH, UBND, at

from axis.tasks import lifecycle as lc
from axis.tasks.extension import mint_code
from axis.tasks.lifecycle import Task
from axis.tasks.model import Agency, TaskEntry
from axis.tasks.report import Bucket, parse_period

GIAO_THONG = "000.00.08.H37"
Y_TE = "000.00.16.H37"
# The registry's names (the packaged Lạng Sơn seed) without "tỉnh Lạng Sơn".
NAMES = {
    TAI_CHINH: "Sở Tài chính", NOI_VU: "Sở Nội vụ", KE_HOACH: "Sở Kế hoạch và Đầu tư",
    GIAO_THONG: "Sở Giao thông vận tải", Y_TE: "Sở Y tế",
}
PERIOD = parse_period("2026-Q4")
AS_OF = at(12, 15, 9, 0)
ISSUER = "Văn phòng UBND tỉnh Lạng Sơn"

Step = Callable[[Task], Task]


def _doc(day: date, number: str) -> str:
    return f"{UBND},{day:%Y/%m/%d},{number}/UBND-KT"


def _reply(lead: str, when: datetime, number: str) -> str:
    return f"{lead},{when:%Y/%m/%d},{number}"


def _task(doc_day: date, number: str, index: int, lead: str, content: str,
          deadline: date, *steps: Step, supporting: tuple[str, ...] = ()) -> Task:
    entry = TaskEntry(mint_code(UBND, doc_day, number, index), content,
                      Agency(lead, NAMES[lead]), deadline, FOLLOWER,
                      supporting=tuple(Agency(s, NAMES[s]) for s in supporting))
    assigned = datetime(doc_day.year, doc_day.month, doc_day.day, 10, 0,
                        tzinfo=AS_OF.tzinfo)
    task = lc.assign(entry, document_id=_doc(doc_day, number), office=UBND, at=assigned)
    task = lc.receive(task, actor=lead, at=assigned.replace(hour=14))
    for step in steps:
        task = step(task)
    return task


def replied(when: datetime, number: str) -> Step:
    return lambda t: lc.reply(t, actor=t.lead.organ_id, at=when,
                              document_id=_reply(t.lead.organ_id, when, number))


def approved(when: datetime) -> Step:
    return lambda t: lc.approve_completion(t, actor=UBND, at=when)


def refused(when: datetime, reason: str) -> Step:
    return lambda t: lc.refuse_completion(t, actor=UBND, at=when, reason=reason)


def extended(asked: datetime, granted: datetime, new: date, number: str) -> Step:
    def step(t: Task) -> Task:
        t = lc.request_extension(t, actor=t.lead.organ_id, at=asked,
                                 document_id=_reply(t.lead.organ_id, asked, number),
                                 asked_deadline=new, reason="Cần thêm thời gian tổng hợp")
        return lc.approve_extension(t, actor=UBND, at=granted, new_deadline=new,
                                    document_id=_doc(granted.date(), f"{number}-GH"))
    return step


def returned(when: datetime) -> Step:
    return lambda t: lc.return_to_office(t, actor=t.lead.organ_id, at=when,
                                         reason="Không thuộc chức năng, nhiệm vụ của Sở")


def support_refused(agency: str, when: datetime) -> Step:
    return lambda t: lc.refuse_support(t, actor=agency, at=when,
                                       reason="Nội dung không thuộc lĩnh vực phối hợp")


D1, D2, D3, D4 = date(2026, 8, 28), date(2026, 9, 16), date(2026, 10, 5), date(2026, 11, 2)


def sample_tasks() -> tuple[Task, ...]:
    """The quarter's tasks; `EXPECTED` says where each lands."""
    return (
        # Document 1 (28 Aug): one completed before the period starts (not counted), one
        # inside it.
        _task(D1, "301", 1, Y_TE, "Báo cáo công tác phòng chống dịch bệnh mùa mưa.",
              date(2026, 9, 12), replied(at(9, 10), "88/SYT-NVY"), approved(at(9, 11))),
        _task(D1, "301", 2, GIAO_THONG, "Kiểm tra an toàn công trình cầu yếu trên quốc lộ 1.",
              date(2026, 9, 30), replied(at(9, 28), "512/SGTVT-QLCL"), approved(at(9, 29))),
        # Document 2 (16 Sep).
        _task(D2, "345", 1, TAI_CHINH, "Rà soát, báo cáo giải ngân vốn đầu tư công quý III.",
              date(2026, 10, 15), replied(at(10, 10), "2101/STC-ĐT"), approved(at(10, 12)),
              supporting=(KE_HOACH,)),
        _task(D2, "345", 2, TAI_CHINH, "Đề xuất phương án bố trí kinh phí sửa chữa trụ sở.",
              date(2026, 11, 5), replied(at(11, 10), "2388/STC-HCSN"), approved(at(11, 12))),
        _task(D2, "345", 3, KE_HOACH, "Tổng hợp danh mục dự án kêu gọi đầu tư năm 2027.",
              date(2026, 10, 20), replied(at(10, 19, 16), "1450/SKHĐT-ĐTNN"),
              approved(at(10, 21))),
        _task(D2, "345", 4, NOI_VU, "Tham mưu kế hoạch tuyển dụng công chức năm 2026.",
              date(2026, 10, 31), extended(at(10, 25), at(10, 27), date(2026, 11, 30), "1702"),
              replied(at(11, 25), "1803/SNV-CCVC"), approved(at(11, 27))),
        _task(D2, "345", 5, Y_TE, "Xây dựng phương án tăng cường nhân lực y tế tuyến xã.",
              date(2026, 11, 20), replied(at(11, 25), "1302/SYT-TCCB"), approved(at(11, 26))),
        # Document 3 (5 Oct).
        _task(D3, "402", 1, NOI_VU, "Đề án sắp xếp đơn vị sự nghiệp công lập.",
              date(2026, 11, 30), replied(at(11, 20), "1780/SNV-TCBC"),
              refused(at(11, 22), "Chưa đủ số liệu biên chế năm 2027"),
              replied(at(12, 2), "1841/SNV-TCBC"), approved(at(12, 4))),
        _task(D3, "402", 2, KE_HOACH, "Báo cáo tình hình thu hút đầu tư khu kinh tế cửa khẩu.",
              date(2026, 11, 15), supporting=(TAI_CHINH, GIAO_THONG)),
        _task(D3, "402", 3, GIAO_THONG, "Kế hoạch bảo đảm trật tự an toàn giao thông dịp Tết.",
              date(2026, 12, 10), support_refused(Y_TE, at(10, 9)), supporting=(Y_TE,)),
        _task(D3, "402", 4, KE_HOACH, "Rà soát quy hoạch vùng nguyên liệu chè.",
              date(2026, 11, 10), returned(at(10, 7))),
        _task(D3, "402", 5, Y_TE, "Kiểm tra an toàn thực phẩm tại các chợ biên giới.",
              date(2026, 10, 10), replied(at(10, 9), "1198/SYT-ATTP"), approved(at(10, 12))),
        # Document 4 (2 Nov).
        _task(D4, "455", 1, TAI_CHINH, "Thẩm định dự toán ngân sách năm 2027 của các sở.",
              date(2026, 12, 10)),
        _task(D4, "455", 2, TAI_CHINH, "Tổng hợp báo cáo quyết toán ngân sách năm 2025.",
              date(2027, 1, 20)),
        _task(D4, "455", 3, TAI_CHINH, "Báo cáo tiến độ thu ngân sách tháng 11.",
              date(2026, 12, 14), replied(at(12, 14, 16), "2601/STC-NS"),
              approved(at(12, 15, 8, 30))),
        _task(D4, "455", 4, NOI_VU, "Hướng dẫn đánh giá, xếp loại công chức năm 2026.",
              date(2026, 12, 31)),
        _task(D4, "455", 5, GIAO_THONG, "Đề xuất danh mục duy tu đường tỉnh năm 2027.",
              date(2026, 12, 20), replied(at(12, 12), "640/SGTVT-KHTC")),
    )


def code(day: date, number: str, index: int) -> str:
    return mint_code(UBND, day, number, index)


# Where each counted task lands (the returned one and the one completed before the
# period are absent).
EXPECTED: dict[str, dict[Bucket, set[str]]] = {
    TAI_CHINH: {Bucket.COMPLETED_ON_TIME: {code(D2, "345", 1), code(D4, "455", 3)},
                Bucket.COMPLETED_LATE: {code(D2, "345", 2)},
                Bucket.OPEN_OVERDUE: {code(D4, "455", 1)},
                Bucket.NOT_YET_DUE: {code(D4, "455", 2)}},
    NOI_VU: {Bucket.COMPLETED_ON_TIME: {code(D2, "345", 4)},
             Bucket.COMPLETED_LATE: {code(D3, "402", 1)},
             Bucket.NOT_YET_DUE: {code(D4, "455", 4)}},
    KE_HOACH: {Bucket.COMPLETED_ON_TIME: {code(D2, "345", 3)},
               Bucket.OPEN_OVERDUE: {code(D3, "402", 2)}},
    GIAO_THONG: {Bucket.COMPLETED_ON_TIME: {code(D1, "301", 2)},
                 Bucket.OPEN_OVERDUE: {code(D3, "402", 3)},
                 Bucket.NOT_YET_DUE: {code(D4, "455", 5)}},
    Y_TE: {Bucket.COMPLETED_ON_TIME: {code(D3, "402", 5)},
           Bucket.COMPLETED_LATE: {code(D2, "345", 5)}},
}
