"""The console's Tasks pages (issue 12, items 3, 5, 6) in a real browser, on tasks made by
real traffic through the HTTP edge (the helpers of tests/test_tasks_flow.py): a viewer
lists and filters (either identifier form, state, deadline window, officer) and opens a
task with its refusals, replies, documents and history, and sees no decision; the Office
approves a completion with a reason (journaled, the state changed, in the history); a
viewer's POST is refused. A report's number drills down to its tasks; the signed PDF
downloads. The Art. 16 inspection dates answer the same on the admin API, the agency API
and the page."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from admin_support import ROLE_TOKENS, bearer
from console_support import api_login, csrf_of, login, shot
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH
from rest_support import RestNode
from tasks_support import FOLLOWER, UBND, at, office_calendar
from tasks_wire_support import assigning, events, goto, reply, track
from test_tasks_flow import copy, rn

from adapters.task_parts import task_parts
from axis.tasks.inspection import inspection_dates
from axis.tasks.model import EventType, TaskEvent

__all__ = ["rn"]  # the served node fixture of test_tasks_flow.py


def traffic(rn: RestNode) -> tuple[str, str, str]:
    """Three tasks of one assigning document, as the agencies' systems move them: all
    received; T1's supporting agency refuses with a reason and its lead replies (awaiting
    the Office's approval); T3's lead asks an extension in time."""
    t = rn.t
    client = {a: rn.client(a) for a in (UBND, TAI_CHINH, NOI_VU, KE_HOACH)}
    goto(t, at(12, 1))
    doc, (t1, t2, t3), raw = assigning(t, "123", date(2026, 12, 1), (
        (TAI_CHINH, "Rà soát giải ngân vốn đầu tư công.", date(2026, 12, 15), (KE_HOACH,)),
        (NOI_VU, "Phương án sắp xếp biên chế 2027.", date(2026, 12, 31), ()),
        (KE_HOACH, "Kế hoạch đầu tư công trung hạn.", date(2026, 12, 10), (TAI_CHINH,))))
    sent = client[UBND].send(raw)
    track(t)
    goto(t, at(12, 2))
    for agency in (TAI_CHINH, NOI_VU, KE_HOACH):
        client[agency].get(copy(sent, agency))
    goto(t, at(12, 3))
    client[KE_HOACH].send(events(t, KE_HOACH, UBND, doc, TaskEvent(
        t1, EventType.SUPPORT_REFUSED, reason="Không thuộc thẩm quyền của Sở.")))
    client[KE_HOACH].send(events(t, KE_HOACH, UBND, doc, TaskEvent(
        t3, EventType.EXTENSION_REQUESTED, reason="Chờ số liệu các huyện.",
        new_deadline=date(2026, 12, 20), documents=(f"{KE_HOACH},2026/12/03,77/SKH",))))
    goto(t, at(12, 5, 10))
    client[TAI_CHINH].send(reply(t, TAI_CHINH, 45, doc, (t1,))[1])
    track(t)  # the served node's own tasks.track job may have applied some already
    with task_parts(t.node).store.reading() as tx:
        assert tx.tasks([t1])[t1].task.state.value == "awaiting_approval"
    return t1, t2, t3


def _journal(rn: RestNode, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in rn.t.node.store.journal() if e.kind == kind]


def test_viewer_lists_filters_and_reads_a_task_without_decisions(rn: RestNode,
                                                                  page: Any) -> None:
    t1, t2, t3 = traffic(rn)
    login(page, rn.url, "viewer")
    page.get_by_test_id("nav-tasks").click()
    assert page.get_by_test_id("tasks-total").inner_text() == "3"
    # By deadline; the time left in working days on the office calendar, from Saturday
    # 5 Dec 2026: 7-10 Dec for T3, the weekend of 12-13 Dec not counted for T1.
    assert page.get_by_test_id("task-link").all_inner_texts() == [t3, t1, t2]
    assert page.get_by_test_id("task-due").all_inner_texts() == [
        "4 ngày làm việc", "7 ngày làm việc", "19 ngày làm việc"]
    shot(page, "tasks")

    # The agency in its short form finds the tasks it leads or supports.
    short = rn.t.node.registry.resolve(KE_HOACH).short_id
    assert short and short != KE_HOACH
    page.get_by_test_id("tasks-agency").fill(short)
    page.get_by_test_id("tasks-apply").click()
    assert sorted(page.get_by_test_id("task-link").all_inner_texts()) == sorted([t1, t3])
    page.get_by_test_id("tasks-agency").fill("")
    page.get_by_test_id("tasks-state").select_option("awaiting_approval")
    page.get_by_test_id("tasks-apply").click()
    assert page.get_by_test_id("task-link").all_inner_texts() == [t1]
    page.get_by_test_id("tasks-state").select_option("")
    page.get_by_test_id("tasks-from").fill("2026-12-11")
    page.get_by_test_id("tasks-to").fill("2026-12-31")
    page.get_by_test_id("tasks-officer").fill(FOLLOWER.name)
    page.get_by_test_id("tasks-apply").click()
    assert page.get_by_test_id("task-link").all_inner_texts() == [t1, t2]
    page.get_by_test_id("tasks-officer").fill("Người khác")
    page.get_by_test_id("tasks-apply").click()
    assert page.get_by_test_id("tasks-total").inner_text() == "0"
    searches = _journal(rn, "access.search")
    assert searches[-1]["actor"] == "test.viewer"
    assert searches[-1]["detail"]["officer"] == "Người khác"
    assert searches[-2]["detail"]["deadline_from"] == "2026-12-11"

    page.goto(f"{rn.url}/console/tasks")
    page.get_by_test_id("task-link").nth(1).click()
    assert page.get_by_test_id("task-code").inner_text() == t1
    assert page.get_by_test_id("task-state").inner_text() == "Chờ phê duyệt kết quả"
    assert "Không thuộc thẩm quyền" in page.get_by_test_id("task-supporting").inner_text()
    assert page.get_by_test_id("task-reply").count() == 1
    assert page.get_by_test_id("history-action").all_inner_texts() == [
        "Giao nhiệm vụ", "Cơ quan chủ trì nhận", "Từ chối phối hợp", "Trả lời kết quả"]
    assert page.get_by_test_id("task-actions").count() == 0
    page.goto(f"{page.url}?lang=en")  # every word in English too, no key shown
    assert page.get_by_test_id("task-state").inner_text() == "Awaiting approval"
    assert page.get_by_test_id("history-action").all_inner_texts()[-1] == "Replied"
    shown = page.inner_text("main")
    assert not any(k in shown for k in ("task.", "tasks.", "doc_role.", "task_action."))
    page.get_by_test_id("task-assigning").click()  # the console's Document page
    assert "/console/document/" in page.url and page.get_by_test_id("message").count() == 0
    views = [(e.subject, e.payload["actor"]) for e in rn.t.node.store.journal()
             if e.kind == "access.view"]
    assert (f"/console/tasks/task/{t1}", "test.viewer") in views


def test_the_office_approves_a_completion_and_a_viewer_cannot(rn: RestNode,
                                                              page: Any) -> None:
    t1, _, t3 = traffic(rn)
    with httpx.Client(base_url=rn.url, timeout=30) as api:
        api_login(api, "viewer")
        mine = csrf_of(api.get(f"/console/tasks/task/{t1}").text)
        r = api.post("/console/tasks/act/approve-completion",
                     data={"csrf": mine, "code": t1, "reason": "thử"})
        assert r.status_code == 403 and 'data-testid="message"' in r.text
        api_login(api, "office")
        mine = csrf_of(api.get(f"/console/tasks/task/{t1}").text)
        r = api.post("/console/tasks/act/approve-completion", data={"csrf": mine, "code": t1})
        assert r.status_code == 400  # no reason, no decision
    assert not _journal(rn, "access.change") and not _journal(rn, "task.completion-approved")

    login(page, rn.url, "office", purpose="Theo dõi nhiệm vụ tháng 12")
    page.goto(f"{rn.url}/console/tasks/task/{t1}")
    assert page.get_by_test_id("form-approve-extension").count() == 0  # none pending
    page.get_by_test_id("approve-completion-reason").fill("Kết quả đạt yêu cầu")
    page.get_by_test_id("approve-completion-submit").click()
    assert page.get_by_test_id("task-state").inner_text() == "Hoàn thành"
    assert page.get_by_test_id("task-completed").inner_text() == "05/12/2026 10:00:00"
    assert page.get_by_test_id("history-action").all_inner_texts()[-1] == "Phê duyệt hoàn thành"
    assert page.get_by_test_id("history-by").all_inner_texts()[-1] == "test.office"
    assert page.get_by_test_id("task-actions").count() == 0  # nothing left to decide
    change = _journal(rn, "access.change")[-1]
    assert change["actor"] == "test.office" and change["reason"] == "Kết quả đạt yêu cầu"
    assert change["detail"]["change"] == "approve-completion"
    done = [e for e in rn.t.node.store.journal() if e.subject == t1 and e.payload.get("by")]
    assert [(e.payload["by"], e.payload["note"]) for e in done] == [
        ("test.office", "Kết quả đạt yêu cầu")]

    # T3's extension, asked in time, approved with the approving document (13.5).
    page.goto(f"{rn.url}/console/tasks/task/{t3}")
    assert page.get_by_test_id("approve-extension-deadline").input_value() == "2026-12-20"
    page.get_by_test_id("approve-extension-document").fill(f"{UBND},2026/12/05,130/UBND-KT")
    page.get_by_test_id("approve-extension-reason").fill("Lãnh đạo UBND tỉnh đồng ý")
    page.get_by_test_id("approve-extension-submit").click()
    assert page.get_by_test_id("task-deadline").inner_text() == "20/12/2026"
    assert "130/UBND-KT" in page.get_by_test_id("deadline-change").inner_text()
    shot(page, "task")


def test_a_report_number_drills_down_and_the_signed_pdf_downloads(rn: RestNode,
                                                                  page: Any) -> None:
    t1, t2, t3 = traffic(rn)
    goto(rn.t, at(12, 7))
    office = bearer(ROLE_TOKENS["office"])
    with httpx.Client(base_url=rn.url, timeout=30) as api:
        r = api.post(f"/admin/v1/tasks/{t1}/approve-completion", headers=office,
                     json={"reason": "Đạt yêu cầu"})
        assert r.status_code == 200, r.text
    login(page, rn.url, "viewer")
    page.goto(f"{rn.url}/console/tasks")
    page.get_by_test_id("tasks-report-link").click()
    # The current quarter by default: 2026-Q4, 15 Sep → 14 Dec (provincial practice).
    assert page.get_by_test_id("report-label").inner_text() == "2026-Q4"
    page.get_by_test_id("report-period").fill("2026-Q4")
    page.get_by_test_id("report-show").click()
    assert page.get_by_test_id("drill-total-completed_on_time").inner_text() == "1"
    assert page.get_by_test_id("drill-total-open_within_deadline").inner_text() == "1"
    assert page.get_by_test_id("drill-total-not_yet_due").inner_text() == "1"
    shot(page, "task-report")
    page.get_by_test_id("drill-total-not_yet_due").click()
    assert page.get_by_test_id("drill-task").all_inner_texts() == [t2]
    page.get_by_test_id("drill-back").click()
    page.get_by_test_id("drill-total-open_within_deadline").click()
    assert page.get_by_test_id("drill-task").all_inner_texts() == [t3]
    page.get_by_test_id("drill-back").click()
    page.get_by_test_id(f"drill-{TAI_CHINH}-completed_on_time").click()
    assert page.get_by_test_id("drill-task").all_inner_texts() == [t1]
    page.get_by_test_id("drill-task").click()
    assert page.get_by_test_id("task-code").inner_text() == t1
    drills = [p["detail"] for p in _journal(rn, "access.search") if "bucket" in p["detail"]]
    assert drills[-1]["row"] == TAI_CHINH and drills[-1]["bucket"] == "completed_on_time"

    # A custom window, one lead named by its short identifier.
    page.goto(f"{rn.url}/console/tasks/report")
    page.get_by_test_id("report-from").fill("2026-12-01")
    page.get_by_test_id("report-to").fill("2026-12-31")
    page.get_by_test_id("report-agency").fill(rn.t.node.registry.resolve(NOI_VU).short_id)
    page.get_by_test_id("report-show").click()
    assert page.get_by_test_id("report-label").inner_text() == "2026-12-01..2026-12-31"
    assert page.get_by_test_id("report-row").count() == 2  # Sở Nội vụ and the total
    assert page.get_by_test_id("drill-total-open_within_deadline").inner_text() == "1"

    page.goto(f"{rn.url}/console/tasks/report?period=2026-Q4")
    page.get_by_test_id("report-reason").fill("Báo cáo quý IV gửi Chủ tịch UBND tỉnh")
    with page.expect_download() as got:
        page.get_by_test_id("export-pdf").click()
    pdf = got.value
    assert pdf.suggested_filename == "axis-tasks-2026-Q4.pdf"
    with open(pdf.path(), "rb") as f:
        body = f.read()
    assert body.startswith(b"%PDF") and b"/ByteRange" in body  # signed
    page.get_by_test_id("report-reason").fill("Số liệu cho Sở Nội vụ")
    with page.expect_download() as got:
        page.get_by_test_id("export-csv").click()
    with open(got.value.path(), "rb") as f:
        assert TAI_CHINH in f.read().decode("utf-8-sig")
    exports = _journal(rn, "access.export")
    assert [(e["reason"], e["detail"]["format"]) for e in exports] == [
        ("Báo cáo quý IV gửi Chủ tịch UBND tỉnh", "pdf"), ("Số liệu cho Sở Nội vụ", "csv")]


def test_inspection_dates_on_the_apis_and_the_page(rn: RestNode, page: Any) -> None:
    want = inspection_dates(date(2026, 12, 21), office_calendar(), date(2026, 12, 23))
    query = "date=2026-12-21&ends=2026-12-23"
    with httpx.Client(base_url=rn.url, timeout=30) as api:
        r = api.get(f"/admin/v1/calendar/inspection?{query}",
                    headers=bearer(ROLE_TOKENS["viewer"]))
        assert r.status_code == 200, r.text
        assert r.json() == want.as_dict()
        assert api.get(f"/admin/v1/calendar/inspection?{query}").status_code == 401
        bad = api.get("/admin/v1/calendar/inspection?date=2026-12-21&ends=2026-12-01",
                      headers=bearer(ROLE_TOKENS["viewer"]))
        assert bad.status_code == 422 and bad.json()["code"] == "api.invalid_request"
    own = rn.client(NOI_VU).request("GET", f"/v1/calendar/inspection?{query}").json()
    assert own == want.as_dict()

    login(page, rn.url, "viewer")
    page.goto(f"{rn.url}/console/tasks")
    page.get_by_test_id("inspect-date").fill("2026-12-21")
    page.get_by_test_id("inspect-ends").fill("2026-12-23")
    page.get_by_test_id("inspect-go").click()
    assert page.get_by_test_id("inspect-notice").inner_text() == f"{want.notice_by:%d/%m/%Y}"
    assert page.get_by_test_id("inspect-report").inner_text().startswith(
        f"{want.report_due:%d/%m/%Y}")
    assert page.get_by_test_id("inspect-results").inner_text() == f"{want.results_due:%d/%m/%Y}"
