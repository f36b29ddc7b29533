"""A document (viewer; the bytes: auditor): its trail on one timeline (every recipient,
every hop, statuses, recalls, updates), every copy with its state and retry budget, the
packages about it (the document, its updates and recalls, every status and
acknowledgement) and, for an auditor, each package's bytes and the evidence bundle
(adapters/store/evidence.py `export_document`, verifiable offline: docs/evidence.md).

A viewer sees metadata only (axis/auth/roles.py: the bytes are evidence). The view is
journaled (`access.view`), each download (`access.download`) and the bundle
(`access.export`, with a reason) before a byte leaves.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from adapters.console import fmt, i18n, reads, words
from adapters.console.web import PREFIX, Console, ConsoleRoute, Ctx, Leave
from adapters.store.evidence import export_document
from axis.auth import roles
from axis.errors import AxisError
from axis.journal.access import Action

i18n.add({
    "doc.title": ("Hồ sơ văn bản", "Document"),
    "doc.timeline": ("Diễn biến", "Timeline"),
    "doc.copies": ("Bản sao gửi từng cơ quan nhận", "Copies, one per recipient"),
    "doc.packages": ("Gói tin và báo nhận", "Packages and acknowledgements"),
    "doc.evidence": ("Bộ chứng cứ (kiểm tra được khi không có mạng)",
                     "Evidence bundle (verifiable offline)"),
    "doc.evidence_reason": ("Lý do xuất bộ chứng cứ", "Reason for the export"),
    "doc.evidence_button": ("Tải bộ chứng cứ", "Download the evidence bundle"),
    "doc.download": ("Tải về", "Download"),
    "doc.metadata_only": ("Vai trò của bạn chỉ xem được thông tin mô tả; nội dung gói tin "
                          "dành cho kiểm toán viên.",
                          "Your role sees metadata only; package bytes are for auditors."),
    "doc.unknown": ("Trục không lưu văn bản nào có mã này.",
                    "The node holds no document with this id."),
    "doc.effective": ("Thời điểm nhận tính theo giờ hành chính (Điều 11.2)",
                      "Receipt time in office hours (Art. 11.2)"),
    "doc.available_at": ("Sẵn sàng lúc", "Available at"),
    "doc.transport": ("Hệ thống bên nhận báo", "Recipient system reports"),
    "doc.size": ("Dung lượng", "Size"),
    "doc.signature": ("Chữ ký số", "Signature"),
    "doc.sha256": ("Mã băm SHA-256", "SHA-256"),
    "doc.received_at": ("Trục nhận lúc", "Received at"),
    "doc.event": ("Sự kiện", "Event"),
    "doc.failed": ("Không xuất được", "Could not export"),
})


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=f"{PREFIX}/document", route_class=ConsoleRoute,
                  include_in_schema=False)
    viewer = Depends(console.need(roles.VIEWER))
    auditor = Depends(console.need(roles.AUDITOR))

    def failed(ctx: Ctx, exc: AxisError, status: int = 404) -> Leave:
        return Leave(ctx.render("message.html", status=status, title=ctx.t("doc.failed"),
                                text=f"{exc.code.id}: {exc.detail}"))

    # Registered before the document's own route: a DocumentId holds "/" and "," and is
    # matched as a path, so these two must be tried first.
    @r.get("/package/{sha256}")
    def package(sha256: str, ctx: Ctx = auditor) -> Response:
        ops = reads.traffic(console)
        ctx.journal(Action.DOWNLOAD, sha256)
        try:
            stored, content = ops.package(sha256)
        except AxisError as exc:
            raise failed(ctx, exc) from exc

        def body() -> Iterator[bytes]:
            yield from content.chunks()

        name = f"{stored.kind.value}-{sha256[:16]}.xml"
        return StreamingResponse(body(), media_type="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(content.size), "Cache-Control": "no-store"})

    @r.post("/evidence")
    async def evidence(request: Request, ctx: Ctx = auditor) -> Response:
        form = await request.form()
        ctx.check_form(form)
        reason = ctx.reason(form)
        document_id = str(form.get("document", ""))
        ctx.journal(Action.EXPORT, document_id, reason=reason, format="evidence-bundle")
        try:
            data = export_document(console.node, document_id, console.now())
        except AxisError as exc:
            raise failed(ctx, exc, 409) from exc
        stamp = console.now().strftime("%Y%m%d-%H%M%S")
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="axis-evidence-{stamp}.zip"',
            "Cache-Control": "no-store"})

    @r.get("/{document_id:path}", response_class=HTMLResponse)
    def document(document_id: str, ctx: Ctx = viewer) -> HTMLResponse:
        ctx.journal(Action.VIEW, document_id)
        try:
            view = reads.traffic(console).document(document_id)
        except AxisError as exc:
            raise Leave(ctx.render("message.html", status=404,
                                   title=ctx.t("notfound.title"),
                                   text=ctx.t("doc.unknown"))) from exc
        registry = console.node.registry

        def name(agency_id: str) -> str:
            found = registry.find(agency_id)
            return found.name if found is not None else ""

        return ctx.render(
            "document.html", v=view, when=fmt.when, size=fmt.size, name=name,
            label=lambda prefix, value: words.label(prefix, value, ctx.lang),
            bytes_allowed=ctx.who.may(roles.AUDITOR))

    return r
