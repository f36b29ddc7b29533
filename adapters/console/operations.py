"""Operations (operators): a maintenance notice to every active agency (Art. 21.3), the
dead letters of push and of forwarding to peers with a resend (a reason required), and
diagnostics: readiness as /readyz computes it, the broker and the database, the jobs'
last runs, the peers' status (axis/federation/peers.py `PeerAdmin`).

The page is journaled (`access.view`); a notice is `access.change` and a resend
`access.resend`, each before it runs, with the reason given."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from adapters.console import i18n
from adapters.console.forms import local_time, refused
from adapters.console.web import PREFIX, Console, ConsoleRoute, Ctx, Leave
from adapters.rest.health import broker_ok, delivery_health, readiness
from adapters.store.dead_letter_reads import SqlDeadLetterReads
from axis.app import operations
from axis.auth import roles
from axis.errors import AxisError
from axis.health import Heartbeats
from axis.journal.access import Action
from axis.route.notices import Notice
from axis.trust.verdict import fingerprint

HERE = f"{PREFIX}/operations"

i18n.add({
    "ops.title": ("Vận hành trục", "Operations"),
    "ops.notice": ("Gửi thông báo tới các cơ quan (Điều 21.3)",
                   "Notice to every agency (Art. 21.3)"),
    "ops.number": ("Số thông báo", "Notice number"),
    "ops.subject_vi": ("Trích yếu (tiếng Việt)", "Subject (Vietnamese)"),
    "ops.subject_en": ("Trích yếu (tiếng Anh)", "Subject (English)"),
    "ops.text_vi": ("Nội dung (tiếng Việt)", "Text (Vietnamese)"),
    "ops.text_en": ("Nội dung (tiếng Anh)", "Text (English)"),
    "ops.starts_at": ("Bắt đầu bảo trì", "Maintenance starts"),
    "ops.ends_at": ("Kết thúc bảo trì", "Maintenance ends"),
    "ops.urgent": ("Hỏa tốc", "Urgent"),
    "ops.send": ("Gửi thông báo", "Send the notice"),
    "ops.sent_title": ("Đã gửi thông báo", "Notice sent"),
    "ops.sent_text": ("Thông báo {doc} đã vào hộp thư của {n} cơ quan.",
                      "Notice {doc} is in the inbox of {n} agencies."),
    "ops.bad_time": ("Thời điểm không hợp lệ.", "The time is not valid."),
    "ops.dead": ("Văn bản chuyển thất bại (chờ gửi lại)", "Dead letters (waiting for a resend)"),
    "ops.no_dead": ("Không có văn bản chuyển thất bại.", "No dead letter."),
    "ops.delivery": ("Mã bản chuyển", "Delivery"),
    "ops.document": ("Văn bản", "Document"),
    "ops.sender": ("Nơi gửi", "Sender"),
    "ops.recipient": ("Nơi nhận", "Recipient"),
    "ops.failed_at": ("Thất bại lúc", "Failed at"),
    "ops.detail": ("Lỗi cuối", "Last error"),
    "ops.resend": ("Gửi lại", "Resend"),
    "ops.resent": ("Đã đưa lại vào hàng đợi qua kênh {channel}.",
                   "Back in the queue through {channel}."),
    "ops.total": ("Tổng số", "Total"),
    "ops.prev": ("← Trang trước", "← Previous"),
    "ops.next": ("Trang sau →", "Next →"),
    "ops.diagnostics": ("Chẩn đoán", "Diagnostics"),
    "ops.readiness": ("Sẵn sàng tiếp nhận (/readyz)", "Ready to accept (/readyz)"),
    "ops.delivery_health": ("Chuyển phát (/health/delivery)", "Delivery (/health/delivery)"),
    "ops.check": ("Kiểm tra", "Check"),
    "ops.reasons": ("Nguyên nhân", "Reasons"),
    "ops.yes": ("Đạt", "OK"),
    "ops.no": ("Không đạt", "Failing"),
    "ops.check.disk": ("Thư mục dữ liệu ghi được", "Data directory writable"),
    "ops.check.database": ("Cơ sở dữ liệu", "Database"),
    "ops.check.trust": ("Danh sách thu hồi (CRL) còn hạn", "Revocation lists fresh"),
    "ops.check.broker": ("Hàng đợi (broker)", "Broker"),
    "ops.check.background": ("Tác vụ nền", "Background jobs"),
    "ops.check.stranded": ("Không có bản chuyển bị kẹt", "No stranded delivery"),
    "ops.jobs": ("Tác vụ định kỳ: lần chạy gần nhất", "Jobs: last runs"),
    "ops.job": ("Tác vụ", "Job"),
    "ops.job_state": ("Tình trạng", "State"),
    "ops.last_success": ("Thành công gần nhất", "Last success"),
    "ops.last_error": ("Lỗi gần nhất", "Last error"),
    "ops.failures": ("Số lần lỗi", "Failures"),
    "ops.peers": ("Các trục kết nối", "Peers"),
    "ops.no_peers": ("Chưa kết nối trục nào.", "No peer."),
    "ops.peer": ("Trục", "Peer"),
    "ops.agencies": ("Số cơ quan", "Agencies"),
    "ops.waiting": ("Đang chờ", "Waiting"),
    "ops.oldest": ("Chờ lâu nhất từ", "Oldest waiting since"),
    "ops.last_ok": ("Kết nối được gần nhất", "Last success"),
    "ops.reachable": ("Kết nối", "Reachable"),
    "ops.peer_dead": ("Thất bại", "Dead letters"),
    "ops.urgent.no": ("Không", "No"),
    "ops.urgent.yes": ("Có", "Yes"),
    "ops.status.ok": ("Bình thường", "OK"),
    "ops.status.degraded": ("Suy giảm", "Degraded"),
    "ops.status.unavailable": ("Không sẵn sàng", "Unavailable"),
    "ops.beat.alive": ("Hoạt động", "Alive"),
    "ops.beat.late": ("Chậm", "Late"),
    "ops.beat.dead": ("Ngừng", "Dead"),
})


def diagnostics(console: Console, health: Heartbeats) -> dict[str, Any]:
    """What /readyz and /health/delivery compute, and the peers' status, now."""
    node, now = console.node, console.now()
    ready, ready_body = readiness(console.settings, node, health, now)
    flowing, delivery_body = delivery_health(node, health, now)
    return {"ready": ready, "readiness": ready_body, "flowing": flowing,
            "delivery": delivery_body, "broker": broker_ok(node),
            "peers": node.peer_admin.status()}


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=HERE, route_class=ConsoleRoute, include_in_schema=False)
    node, settings = console.node, console.settings
    dead = operations.DeadLetters(
        reads=SqlDeadLetterReads(node.store.engine), find=node.registry.find,
        push_requeue=node.pusher.requeue, peer_resend=node.peer_admin.resend,
        wake=node.worker.wake.set)
    operator = Depends(console.need(roles.OPERATOR))  # a default value: see login.py

    @r.get("")
    def show(request: Request, offset: int = 0, resent: str = "", channel: str = "",
             ctx: Ctx = operator) -> Response:
        offset = max(0, offset)
        ctx.journal(Action.VIEW, HERE, offset=offset)
        return ctx.render("operations.html", dead=dead.page(offset=offset),
                          diag=diagnostics(console, request.app.state.health),
                          resent=resent[:64], channel=channel[:64])

    @r.post("/notices")
    async def notice(request: Request, ctx: Ctx = operator) -> Response:
        form = await request.form()
        ctx.check_form(form)
        reason = ctx.reason(form)
        try:
            starts, ends = local_time(form, "starts_at"), local_time(form, "ends_at")
        except ValueError as exc:
            raise Leave(ctx.render("message.html", status=400, title=ctx.t("ops.notice"),
                                   text=ctx.t("ops.bad_time"))) from exc
        text = {k: str(form.get(k, "")).strip() for k in (
            "number", "subject_vi", "subject_en", "text_vi", "text_en")}
        ctx.journal(Action.CHANGE, "notices", reason=reason, number=text["number"])
        try:
            sent = operations.send_notice(
                node.exchange, node.registry, node.trust.validator.validate,
                Notice(**text, starts_at=starts, ends_at=ends,
                       urgent=form.get("urgent") == "on"),
                sender_id=settings.admin.notice_sender_id, actor=ctx.who.name,
                reason=reason, signer_fingerprint=fingerprint(node.signer.cert))
        except AxisError as exc:
            raise refused(ctx, exc, ctx.t("ops.notice")) from exc
        node.worker.wake.set()
        return ctx.render("message.html", title=ctx.t("ops.sent_title"),
                          text=ctx.t("ops.sent_text").format(doc=sent.document_id,
                                                              n=len(sent.deliveries)))

    @r.post("/dead/{delivery_id}/resend")
    async def resend(delivery_id: str, request: Request, ctx: Ctx = operator) -> Response:
        form = await request.form()
        ctx.check_form(form)
        reason = ctx.reason(form)
        ctx.journal(Action.RESEND, delivery_id, reason=reason)
        try:
            channel = dead.resend(delivery_id, actor=ctx.who.name, reason=reason)
        except AxisError as exc:
            raise refused(ctx, exc, ctx.t("ops.resend")) from exc
        return RedirectResponse(f"{HERE}?resent={delivery_id}&channel={channel}",
                                status_code=303)

    return r
