"""Messages (viewer): the copies the node holds, searched by DocumentId, transport id,
agency (either identifier form), status code 01–16, business type, priority, state and a
time window (accepted at), a page at a time, with the retry budget of the channels that
retry (push and peer forwarding: attempts and next attempt); and the same search as CSV.

Every search is journaled (`access.search`, with its filters) before it runs; an export
asks for a reason and is journaled (`access.export`) before a byte is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from adapters.console import fmt, i18n, reads, words
from adapters.console.web import PREFIX, Console, ConsoleRoute, Ctx, Leave
from axis.app.traffic_values import MessageQuery, MessageRow
from axis.auth import roles
from axis.clock import as_vietnam
from axis.errors import AxisError
from axis.journal.access import Action

i18n.add({
    "msg.title": ("Tra cứu văn bản trên trục", "Search the exchange's messages"),
    "msg.document": ("Mã văn bản (DocumentId)", "DocumentId"),
    "msg.delivery": ("Mã truyền (transport id)", "Transport id"),
    "msg.agency": ("Cơ quan gửi hoặc nhận (mã dạng nào cũng được)",
                   "Sending or receiving agency (either identifier form)"),
    "msg.status": ("Mã trạng thái", "Status code"),
    "msg.business": ("Loại nghiệp vụ", "Business type"),
    "msg.priority": ("Độ khẩn", "Priority"),
    "msg.state": ("Tình trạng chuyển phát", "Delivery state"),
    "msg.since": ("Tiếp nhận từ", "Accepted from"),
    "msg.until": ("Đến trước", "Until (excluded)"),
    "msg.any": ("(tất cả)", "(any)"),
    "msg.search": ("Tìm kiếm", "Search"),
    "msg.accepted_at": ("Tiếp nhận lúc", "Accepted at"),
    "msg.kind": ("Loại", "Kind"),
    "msg.from": ("Gửi", "From"),
    "msg.to": ("Nhận", "To"),
    "msg.delivered_at": ("Bên nhận lấy lúc", "Taken at"),
    "msg.attempts": ("Số lần thử", "Attempts"),
    "msg.next_attempt": ("Thử lại lúc", "Next attempt"),
    "msg.none": ("Không có văn bản nào khớp điều kiện tìm kiếm.",
                 "No message matches the search."),
    "msg.prev": ("← Trang trước", "← Previous page"),
    "msg.next": ("Trang sau →", "Next page →"),
    "msg.rows": ("Dòng", "Rows"),
    "msg.export": ("Xuất CSV", "Export as CSV"),
    "msg.export_reason": ("Lý do xuất dữ liệu", "Reason for the export"),
    "msg.bad_query": ("Điều kiện tìm kiếm không hợp lệ", "Invalid search"),
    "msg.agency_resolved": ("Cơ quan", "Agency"),
})

FIELDS = ("document", "delivery", "agency", "status", "business", "priority", "state",
          "since", "until")
PAGE = 50


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


def _time(value: str) -> datetime | None:
    # <input type="datetime-local">: "2026-11-24T09:00", Vietnam time.
    return as_vietnam(datetime.fromisoformat(value)) if value.strip() else None


def query_of(values: Mapping[str, Any], offset: int = 0, limit: int = PAGE) -> MessageQuery:
    """The search a form or a query string describes (ValueError when unreadable)."""
    v = {k: str(values.get(k, "")).strip() for k in FIELDS}
    return MessageQuery(
        document_id=v["document"], delivery_id=v["delivery"], agency=v["agency"],
        status_code=v["status"], business_type=_int(v["business"]),
        priority=_int(v["priority"]), state=v["state"], since=_time(v["since"]),
        until=_time(v["until"]), offset=offset, limit=limit)


def _filters(values: Mapping[str, Any]) -> dict[str, str]:
    """The filters given (what the journal entry and the paging links carry)."""
    return {k: str(values[k]).strip() for k in FIELDS if str(values.get(k, "")).strip()}


def _csv(rows: Iterator[MessageRow], lang: str) -> Iterator[bytes]:
    def t(key: str) -> str:
        return i18n.text(key, lang)

    out = io.StringIO()
    w = csv.writer(out)
    yield "\ufeff".encode()  # a BOM: spreadsheet programs then read the Vietnamese right
    w.writerow([t("msg.accepted_at"), t("msg.document"), t("msg.delivery"), t("msg.kind"),
                t("msg.from"), t("msg.to"), t("msg.business"), t("msg.status"),
                t("msg.priority"), t("msg.state"), t("msg.delivered_at"),
                t("msg.attempts"), t("msg.next_attempt")])
    for n, row in enumerate(rows):
        d = row.delivery
        w.writerow([fmt.when(d.accepted_at), d.document_id, d.delivery_id, d.kind.value,
                    d.sender_id, d.recipient_id,
                    "" if d.business_type is None else d.business_type,
                    d.status_code or "", d.priority, d.state.value, fmt.when(d.delivered_at),
                    "" if row.attempts is None else row.attempts,
                    fmt.when(row.next_attempt_at)])
        if n % 200 == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=f"{PREFIX}/messages", route_class=ConsoleRoute,
                  include_in_schema=False)
    viewer = Depends(console.need(roles.VIEWER))

    def bad(ctx: Ctx, exc: Exception) -> Leave:
        text = exc.detail if isinstance(exc, AxisError) else str(exc)
        return Leave(ctx.render("message.html", status=400, title=ctx.t("msg.bad_query"),
                                text=text))

    @r.get("", response_class=HTMLResponse)
    def search(request: Request, offset: int = 0, limit: int = PAGE,
               ctx: Ctx = viewer) -> HTMLResponse:
        given = _filters(request.query_params)
        ctx.journal(Action.SEARCH, f"{PREFIX}/messages", filters=given, offset=offset)
        try:
            page = reads.traffic(console).search(
                query_of(request.query_params, offset, limit))
        except (ValueError, AxisError) as exc:
            raise bad(ctx, exc) from exc
        registry = console.node.registry

        def name(agency_id: str) -> str:
            found = registry.find(agency_id)
            return found.name if found is not None else ""

        def link(to: int) -> str:
            paging = {"offset": to} | ({"limit": limit} if limit != PAGE else {})
            return "?" + urlencode({**given, **paging})

        return ctx.render(
            "messages.html", page=page, f=given, when=fmt.when, name=name, link=link,
            label=lambda prefix, value: words.label(prefix, value, ctx.lang),
            states=words.STATES, codes=words.STATUS_CODES, business=words.BUSINESS,
            priorities=words.PRIORITIES)

    @r.post("/export")
    async def export(request: Request, ctx: Ctx = viewer) -> Response:
        form = await request.form()
        ctx.check_form(form)
        reason = ctx.reason(form)
        given = _filters(form)
        try:
            query = reads.traffic(console).check(query_of(form))
        except (ValueError, AxisError) as exc:
            raise bad(ctx, exc) from exc
        ctx.journal(Action.EXPORT, f"{PREFIX}/messages", reason=reason, filters=given,
                    format="csv")
        rows = iter(reads.traffic(console).export(query))
        stamp = console.now().strftime("%Y%m%d-%H%M%S")
        return StreamingResponse(
            _csv(rows, ctx.lang), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="axis-messages-{stamp}.csv"',
                     "Cache-Control": "no-store"})

    return r
