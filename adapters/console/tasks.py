"""Tasks (issue 12, item 3; Art. 13-16): the tasks the Committee assigns through documents,
as the traffic made them (axis/tasks/tracker.py).

Viewers list and filter them (agency by either identifier form, state, deadline window,
following officer; a page at a time, by deadline) and open one: content, lead and
supporting agencies (with their refusals, 14.4.b), the officer, the deadline in force and
its history (13.5), replies, the documents (linked to the Document page) and every
transition. People whose role holds the `office` capability take the Office's decisions
there (approve or refuse completion, 13.3.c; approve an extension with the approving
document or refuse it, 13.5; correct the description, 13.3.a), each with a reason,
through the same `TaskOperations` as /admin/v1/tasks. The page also answers the Art. 16
inspection dates (axis/app/inspections.py). Reports are in tasks_report.py.

Every list is `access.search`, every task `access.view`, every decision `access.change`
before it runs (the operation journals the task's own `task.*` entry with the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from adapters.console import fmt, i18n
from adapters.console.web import PREFIX, Console, ConsoleRoute, Ctx, Leave
from adapters.task_parts import task_parts
from axis.app.inspections import InspectionOperations
from axis.app.tasks import TaskOperations
from axis.auth import roles
from axis.clock import as_vietnam
from axis.errors import AxisError
from axis.journal.access import Action
from axis.tasks import deadlines
from axis.tasks.inspection import InspectionDates
from axis.tasks.lifecycle import Task, TaskState
from axis.tasks.ports import TaskFilter

HERE = f"{PREFIX}/tasks"
PAGE = 50
# The Office's decisions (axis/app/tasks.py), each a form on the task's page.
DECISIONS = ("approve-completion", "refuse-completion", "approve-extension",
             "refuse-extension", "correct")

i18n.add({
    "tasks.title": ("Nhiệm vụ do UBND tỉnh giao", "Tasks assigned by the Committee"),
    "tasks.agency": ("Cơ quan (mã định danh, một trong hai dạng)",
                     "Agency (identifier, either form)"),
    "tasks.state": ("Trạng thái", "State"),
    "tasks.any": ("Tất cả", "Any"),
    "tasks.deadline_from": ("Hạn từ ngày", "Deadline from"),
    "tasks.deadline_to": ("Hạn đến ngày", "Deadline to"),
    "tasks.officer": ("Chuyên viên theo dõi", "Following officer"),
    "tasks.apply": ("Lọc", "Filter"),
    "tasks.count": ("Số nhiệm vụ tìm thấy", "Tasks found"),
    "tasks.none": ("Không có nhiệm vụ nào.", "No task."),
    "tasks.code": ("Mã nhiệm vụ", "Task code"),
    "tasks.content": ("Nội dung", "Content"),
    "tasks.lead": ("Cơ quan chủ trì", "Lead agency"),
    "tasks.deadline": ("Hạn xử lý (hiện hành)", "Deadline (in force)"),
    "tasks.left": ("Thời hạn còn lại", "Time left"),
    "tasks.days_left": ("{n} ngày làm việc", "{n} working days"),
    "tasks.due_today": ("Hết hạn hôm nay", "Due today"),
    "tasks.overdue_by": ("Quá hạn {n} ngày làm việc", "Overdue by {n} working days"),
    "tasks.awaiting_in_time": ("Đã trả lời trong hạn, chờ phê duyệt",
                               "Replied in time, awaiting approval"),
    "tasks.closed": ("—", "—"),
    "tasks.prev": ("← Trang trước", "← Previous"),
    "tasks.next": ("Trang sau →", "Next →"),
    "tasks.report": ("Báo cáo định kỳ (Điều 14.3.đ)", "Periodic report (Art. 14.3.đ)"),
    "tasks.bad_filter": ("Bộ lọc không hợp lệ", "Invalid filter"),
    "tasks.bad_date": ("Ngày không hợp lệ (định dạng YYYY-MM-DD).",
                       "Not a valid date (YYYY-MM-DD)."),
    "task.title": ("Nhiệm vụ", "Task"),
    "task.unknown": ("Không có nhiệm vụ với mã này.", "No task with this code."),
    "task.refused": ("Không thực hiện được", "The action was refused"),
    "task.assigning": ("Văn bản giao", "Assigning document"),
    "task.assigned_at": ("Giao lúc", "Assigned at"),
    "task.received_at": ("Cơ quan chủ trì nhận lúc", "Received by the lead at"),
    "task.completed_at": ("Thời điểm hoàn thành (Điều 13.4)", "Completed at (Art. 13.4)"),
    "task.supporting": ("Cơ quan phối hợp", "Supporting agencies"),
    "task.no_supporting": ("Không có cơ quan phối hợp.", "No supporting agency."),
    "task.support_refused": ("Từ chối phối hợp (Điều 14.4.b)",
                             "Refused to support (Art. 14.4.b)"),
    "task.officer": ("Chuyên viên Văn phòng theo dõi", "The Office's following officer"),
    "task.deadlines": ("Thời hạn và gia hạn (Điều 13.5)", "Deadline and extensions (Art. 13.5)"),
    "task.original_deadline": ("Hạn ban đầu", "Original deadline"),
    "task.extended": ("Gia hạn", "Extended"),
    "task.approving_document": ("Văn bản đồng ý gia hạn", "Approving document"),
    "task.pending_extension": ("Đề nghị gia hạn đang chờ", "Extension request pending"),
    "task.asked_deadline": ("Hạn đề nghị", "Deadline asked"),
    "task.replies": ("Văn bản trả lời", "Replies"),
    "task.no_replies": ("Chưa có văn bản trả lời.", "No reply yet."),
    "task.accepted_at": ("Trục tiếp nhận lúc", "Accepted by the node at"),
    "task.documents": ("Văn bản liên quan", "Documents"),
    "task.role": ("Vai trò", "Role"),
    "task.history": ("Lịch sử xử lý", "History"),
    "task.when": ("Thời điểm", "When"),
    "task.action": ("Sự kiện", "Event"),
    "task.actor": ("Bên thực hiện", "Actor"),
    "task.by": ("Người thao tác", "Person"),
    "task.state_change": ("Trạng thái", "State"),
    "task.document": ("Văn bản", "Document"),
    "task.reason": ("Lý do", "Reason"),
    "task.office": ("Quyết định của Văn phòng UBND tỉnh", "The Office's decisions"),
    "task.new_deadline": ("Hạn mới", "New deadline"),
    "task.document_id": ("Mã văn bản (DocumentId)", "Document id (DocumentId)"),
    "task.new_content": ("Nội dung đã điều chỉnh", "Corrected description"),
    "decision.approve-completion": ("Phê duyệt hoàn thành (Điều 13.3.c)",
                                    "Approve completion (Art. 13.3.c)"),
    "decision.refuse-completion": ("Không phê duyệt kết quả (Điều 13.3.c)",
                                   "Refuse completion (Art. 13.3.c)"),
    "decision.approve-extension": ("Đồng ý gia hạn (Điều 13.5)",
                                   "Approve the extension (Art. 13.5)"),
    "decision.refuse-extension": ("Không đồng ý gia hạn", "Refuse the extension"),
    "decision.correct": ("Điều chỉnh nội dung (Điều 13.3.a)",
                         "Correct the description (Art. 13.3.a)"),
    "task_state.assigned": ("Đã giao", "Assigned"),
    "task_state.received": ("Đã nhận", "Received"),
    "task_state.awaiting_approval": ("Chờ phê duyệt kết quả", "Awaiting approval"),
    "task_state.completed": ("Hoàn thành", "Completed"),
    "task_state.returned": ("Trả lại Văn phòng", "Returned to the Office"),
    "task_action.assigned": ("Giao nhiệm vụ", "Assigned"),
    "task_action.received": ("Cơ quan chủ trì nhận", "Received"),
    "task_action.replied": ("Trả lời kết quả", "Replied"),
    "task_action.completion-approved": ("Phê duyệt hoàn thành", "Completion approved"),
    "task_action.completion-refused": ("Không phê duyệt kết quả", "Completion refused"),
    "task_action.returned": ("Trả lại (giao nhầm)", "Returned (wrongly assigned)"),
    "task_action.extension-requested": ("Đề nghị gia hạn", "Extension requested"),
    "task_action.extension-approved": ("Đồng ý gia hạn", "Extension approved"),
    "task_action.extension-refused": ("Không đồng ý gia hạn", "Extension refused"),
    "task_action.support-refused": ("Từ chối phối hợp", "Support refused"),
    "task_action.corrected": ("Điều chỉnh nội dung", "Description corrected"),
    "doc_role.assigning": ("Văn bản giao", "Assigning"),
    "doc_role.reply": ("Văn bản trả lời", "Reply"),
    "doc_role.extension-request": ("Đề nghị gia hạn", "Extension request"),
    "doc_role.extension-approval": ("Đồng ý gia hạn", "Extension approval"),
    "doc_role.extension-refusal": ("Không đồng ý gia hạn", "Extension refusal"),
    "doc_role.return": ("Trả lại", "Return"),
    "doc_role.support-refusal": ("Từ chối phối hợp", "Support refusal"),
    "doc_role.reminder": ("Thông báo nhắc hạn", "Reminder notice"),
    "inspect.title": ("Mốc thời gian thanh tra, kiểm tra (Điều 16)",
                      "Inspection dates (Art. 16)"),
    "inspect.date": ("Ngày bắt đầu thanh tra", "Inspection starts"),
    "inspect.ends": ("Ngày kết thúc (nếu nhiều ngày)", "Last day (if several)"),
    "inspect.go": ("Tính", "Compute"),
    "inspect.notice_by": ("Thông báo chậm nhất (7 ngày làm việc trước, Điều 16.4.a)",
                          "Notice by (7 working days before, Art. 16.4.a)"),
    "inspect.report_due": ("Cơ quan gửi báo cáo chậm nhất (3 ngày trước, Điều 16.4.b)",
                           "Agency's report due (3 days before, Art. 16.4.b)"),
    "inspect.day_off": ("(ngày nghỉ)", "(a day off)"),
    "inspect.results_due": ("Báo cáo kết quả chậm nhất (5 ngày làm việc sau, Điều 16.5)",
                            "Results due (5 working days after, Art. 16.5)"),
})


@dataclass(frozen=True, slots=True)
class Due:
    """How a task stands against its deadline, in the words of the list's column."""

    key: str  # tasks.days_left | tasks.due_today | tasks.overdue_by | …
    days: int
    badge: str  # "", "warn", "bad", "ok"

    def text(self, t: Callable[[str], str]) -> str:
        return t(self.key).replace("{n}", str(abs(self.days)))


def due(task: Task, ops: TaskOperations) -> Due:
    """Working days left on the office calendar (issue 12, item 4), or overdue (13.5)."""
    if not task.is_open:
        return Due("tasks.closed", 0, "")
    now = ops.clock.now()
    left = deadlines.working_days_left(as_vietnam(now).date(), task.deadline, ops.calendar)
    if deadlines.is_overdue(task, now):
        return Due("tasks.overdue_by", left, "bad")
    if task.state is TaskState.AWAITING_APPROVAL and left < 0:
        return Due("tasks.awaiting_in_time", left, "ok")  # 13.4: the Office's move
    if left <= 0:
        return Due("tasks.due_today", 0, "warn")
    return Due("tasks.days_left", left, "warn" if left <= 3 else "")


def _day(value: str, ctx: Ctx) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Leave(ctx.render("message.html", status=400, title=ctx.t("tasks.bad_filter"),
                               text=ctx.t("tasks.bad_date"))) from None


def refused(ctx: Ctx, exc: AxisError, title: str = "task.refused") -> Leave:
    code = exc.code
    text = f"{code.id}: {code.vi if ctx.lang == 'vi' else code.en} {exc.detail}"
    return Leave(ctx.render("message.html", status=code.http_status, title=ctx.t(title),
                            text=text))


def task_link(code: str) -> str:
    return f"{HERE}/task/{quote(code, safe='')}"


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=HERE, route_class=ConsoleRoute, include_in_schema=False)
    ops = task_parts(console.node).operations
    inspections = InspectionOperations(console.node.calendar)
    registry = console.node.registry
    # Defaults, not Annotated (see login.py).
    viewer = Depends(console.need(roles.VIEWER))
    office = Depends(console.need(roles.OFFICE))

    def name(agency_id: str) -> str:
        found = registry.find(agency_id)
        return found.name if found is not None else ""

    def words(ctx: Ctx) -> dict[str, Any]:
        return {"when": fmt.when, "name": name, "task_link": task_link,
                "due": lambda task: due(task, ops).text(ctx.t),
                "due_badge": lambda task: due(task, ops).badge}

    @r.get("")
    def search(agency: str = "", state: str = "", deadline_from: str = "",
               deadline_to: str = "", officer: str = "", offset: int = 0,
               inspection: str = "", inspection_ends: str = "",
               ctx: Ctx = viewer) -> Response:
        agency, officer, offset = agency.strip()[:64], officer.strip()[:200], max(0, offset)
        wanted = TaskState(state) if state in {s.value for s in TaskState} else None
        found_agency = registry.find(agency) if agency else None  # either identifier form
        given = {"agency": agency, "state": state, "deadline_from": deadline_from,
                 "deadline_to": deadline_to, "officer": officer}
        f = TaskFilter(agency=found_agency.agency_id if found_agency else agency or None,
                       state=wanted, deadline_from=_day(deadline_from, ctx),
                       deadline_to=_day(deadline_to, ctx), officer=officer or None,
                       offset=offset, limit=PAGE)
        ctx.journal(Action.SEARCH, HERE, offset=offset, **given)
        page = ops.list(f)
        dates: InspectionDates | None = None
        if inspection:
            try:
                dates = inspections.dates(_day(inspection, ctx) or date.min,
                                          _day(inspection_ends, ctx),
                                          today=as_vietnam(console.now()).date())
            except AxisError as exc:
                raise refused(ctx, exc, "tasks.bad_filter") from exc
        query = "&".join(f"{k}={quote(v)}" for k, v in given.items() if v)
        return ctx.render("tasks.html", page=page, given=given, query=query,
                          states=[s.value for s in TaskState], dates=dates,
                          inspection=inspection, inspection_ends=inspection_ends,
                          **words(ctx))

    @r.get("/task/{code:path}")
    def one(code: str, ctx: Ctx = viewer) -> Response:
        ctx.journal(Action.VIEW, task_link(code), task=code)
        try:
            view = ops.get(code)
        except AxisError as exc:
            raise Leave(ctx.render("message.html", status=404, title=ctx.t("notfound.title"),
                                   text=ctx.t("task.unknown"))) from exc
        t = view.task
        may = ctx.who.may(roles.OFFICE)
        offered = [d for d in DECISIONS if may and _offered(d, t)]
        return ctx.render("task.html", v=view, task=t, decisions=offered,
                          doc_link=lambda doc: f"{PREFIX}/document/{quote(doc, safe='/,')}",
                          **words(ctx))

    @r.post("/act/{decision}")
    async def act(decision: str, request: Request, ctx: Ctx = office) -> Response:
        form = await request.form()
        ctx.check_form(form)
        reason = ctx.reason(form)
        code = str(form.get("code", ""))[:64]
        if decision not in DECISIONS:
            raise Leave(ctx.render("message.html", status=404,
                                   title=ctx.t("notfound.title"), text=decision))
        ctx.journal(Action.CHANGE, task_link(code), reason=reason, change=decision,
                    task=code, **_fields(form))
        try:
            _decide(ops, decision, code, form, by=ctx.who.name, reason=reason)
        except AxisError as exc:
            raise refused(ctx, exc) from exc
        except ValueError as exc:
            raise Leave(ctx.render("message.html", status=400, title=ctx.t("task.refused"),
                                   text=ctx.t("tasks.bad_date"))) from exc
        return RedirectResponse(task_link(code), status_code=303)

    return r


def _offered(decision: str, t: Task) -> bool:
    """Only the decisions the task's state allows are offered (the lifecycle still
    decides: a stale page's POST is refused with the lifecycle's own error)."""
    if decision.endswith("-completion"):
        return t.state is TaskState.AWAITING_APPROVAL
    if decision.endswith("-extension"):
        return t.pending_extension is not None
    return t.is_open


def _fields(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(form.get(k, ""))[:500] for k in ("new_deadline", "document_id", "content")
            if form.get(k)}


def _decide(ops: TaskOperations, decision: str, code: str, form: Mapping[str, Any], *,
            by: str, reason: str) -> Task:
    doc = str(form.get("document_id", "")).strip()[:500]
    if decision == "approve-completion":
        return ops.approve_completion(code, by=by, reason=reason, document_id=doc)
    if decision == "refuse-completion":
        return ops.refuse_completion(code, by=by, reason=reason, document_id=doc)
    if decision == "approve-extension":
        new = date.fromisoformat(str(form.get("new_deadline", "")).strip())
        return ops.approve_extension(code, by=by, reason=reason, new_deadline=new,
                                     document_id=doc)
    if decision == "refuse-extension":
        return ops.refuse_extension(code, by=by, reason=reason, document_id=doc)
    return ops.correct(code, by=by, reason=reason,
                       content=str(form.get("content", "")).strip()[:2000])

