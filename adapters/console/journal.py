"""Journal (auditors): the last verification and a button to verify now (the whole chain,
a seq range or a time window), the signed checkpoints with the journal's verdict against
the latest, and the auditors' own trail (`access.*`) filtered by actor.

Every look at this page is journaled (`access.view`) and every verification too
(`access.verify`, before it runs; its result is then `journal.verified`):
axis/app/journal_audit.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from adapters.console import i18n
from adapters.console.forms import local_time
from adapters.console.web import PREFIX, Console, ConsoleRoute, Ctx, Leave
from adapters.store.checkpoints import export_dir
from adapters.store.journal_reads import SqlJournalReads
from axis.app.journal_audit import PAGE, JournalAudit
from axis.auth import roles
from axis.errors import AxisError
from axis.journal.access import Action
from axis.trust.verdict import fingerprint

i18n.add({
    "journal.title": ("Nhật ký kiểm chứng", "Evidence journal"),
    "journal.status": ("Kết quả kiểm tra gần nhất", "Last verification"),
    "journal.never": ("Chưa kiểm tra lần nào.", "Never verified."),
    "journal.ok": ("Toàn vẹn", "Intact"),
    "journal.broken": ("Bị sửa đổi hoặc thiếu", "Altered or incomplete"),
    "journal.at": ("Thời điểm", "When"),
    "journal.by": ("Người kiểm tra", "By"),
    "journal.entries": ("Số bản ghi đã kiểm", "Entries checked"),
    "journal.range": ("Phạm vi", "Range"),
    "journal.whole": ("Toàn bộ nhật ký", "The whole journal"),
    "journal.first_broken": ("Bản ghi hỏng đầu tiên", "First broken entry"),
    "journal.reason": ("Chi tiết", "Detail"),
    "journal.sealed": ("Đã niêm phong đến số", "Sealed up to seq"),
    "journal.verify": ("Kiểm tra ngay", "Verify now"),
    "journal.verify_hint": ("Để trống để kiểm tra toàn bộ; hoặc nêu khoảng số thứ tự, hoặc "
                            "khoảng thời gian.",
                            "Leave empty to verify everything; or give a seq range, or a "
                            "time window."),
    "journal.seq_from": ("Từ số", "From seq"),
    "journal.seq_to": ("Đến số", "To seq"),
    "journal.time_from": ("Từ thời điểm", "From"),
    "journal.time_to": ("Đến thời điểm", "To"),
    "journal.bad_range": ("Khoảng kiểm tra không hợp lệ.", "The range is not valid."),
    "journal.checkpoints": ("Điểm kiểm chứng đã ký", "Signed checkpoints"),
    "journal.no_checkpoints": ("Chưa có điểm kiểm chứng.", "No checkpoint yet."),
    "journal.cp_verdict": ("Nhật ký so với điểm kiểm chứng mới nhất",
                           "The journal against the latest checkpoint"),
    "journal.cp_none": ("Không có tệp điểm kiểm chứng để đối chiếu.",
                        "No checkpoint file to check against."),
    "journal.verdict.ok": ("Khớp", "Holds"),
    "journal.verdict.truncated": ("Nhật ký bị cắt bớt", "Truncated"),
    "journal.verdict.rolled_back": ("Nhật ký bị ghi đè", "Rolled back"),
    "journal.verdict.refused": ("Tệp không hợp lệ", "File refused"),
    "journal.seq": ("Số thứ tự", "Seq"),
    "journal.head": ("Mã băm đầu chuỗi", "Head hash"),
    "journal.file": ("Tệp", "File"),
    "journal.access": ("Nhật ký truy cập (ai đã xem gì)", "Access trail (who looked at what)"),
    "journal.actor": ("Người thực hiện", "Actor"),
    "journal.filter": ("Lọc", "Filter"),
    "journal.action": ("Thao tác", "Action"),
    "journal.target": ("Đối tượng", "Target"),
    "journal.role": ("Vai trò", "Role"),
    "journal.channel": ("Kênh", "Channel"),
    "journal.why": ("Lý do", "Reason"),
    "journal.none": ("Không có bản ghi.", "No entries."),
    "journal.newer": ("← Mới hơn", "← Newer"),
    "journal.older": ("Cũ hơn →", "Older →"),
    "action.search": ("Tìm kiếm", "Search"),
    "action.view": ("Xem", "View"),
    "action.download": ("Tải về", "Download"),
    "action.export": ("Xuất", "Export"),
    "action.verify": ("Kiểm tra", "Verify"),
    "action.resend": ("Gửi lại", "Resend"),
    "action.change": ("Thay đổi", "Change"),
    "action.login": ("Đăng nhập", "Log in"),
    "action.logout": ("Đăng xuất", "Log out"),
})


def audit(console: Console) -> JournalAudit:
    node = console.node
    reads = SqlJournalReads(node.store, export_dir(node.settings),
                            {fingerprint(node.signer.cert)})
    return JournalAudit(reads, node.exchange.clock)


def _int(form: Any, key: str) -> int | None:
    text = str(form.get(key, "")).strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(key)
    return int(text)


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=f"{PREFIX}/journal", route_class=ConsoleRoute,
                  include_in_schema=False)
    ops = audit(console)
    auditor = Depends(console.need(roles.AUDITOR))  # a default value: see login.py

    @r.get("")
    def show(actor: str = "", offset: int = 0,
             ctx: Ctx = auditor) -> Response:
        actor, offset = actor.strip()[:200], max(0, offset)
        ctx.journal(Action.VIEW, f"{PREFIX}/journal", actor=actor, offset=offset)
        return ctx.render(
            "journal.html", last=ops.last_verification(), verdict=ops.checkpoint_verdict(),
            checkpoints=ops.checkpoints(), access=ops.access(actor=actor, offset=offset),
            actor=actor, offset=offset, page=PAGE)

    @r.post("/verify")
    async def verify(request: Request,
                     ctx: Ctx = auditor) -> Response:
        form = await request.form()
        ctx.check_form(form)
        try:
            first, last = _int(form, "first"), _int(form, "last")
            since, until = local_time(form, "since"), local_time(form, "until")
        except ValueError as exc:
            raise Leave(ctx.render("message.html", status=400, title=ctx.t("journal.verify"),
                                   text=ctx.t("journal.bad_range"))) from exc
        ctx.journal(Action.VERIFY, "journal", first=first, last=last,
                    since=since.isoformat() if since else None,
                    until=until.isoformat() if until else None)
        try:
            ops.verify(actor=ctx.who.name, first=first, last=last, since=since, until=until)
        except AxisError as exc:
            raise Leave(ctx.render("message.html", status=400, title=ctx.t("journal.verify"),
                                   text=f"{ctx.t('journal.bad_range')} ({exc})")) from exc
        return RedirectResponse(f"{PREFIX}/journal", status_code=303)

    return r
