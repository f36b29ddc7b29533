"""Registry (viewers read; registry admins act): agencies searched by either identifier
form or name, filtered by state, a page at a time; an agency with its history (who,
when, why, before/after), certificates and credentials (never a secret). Registry admins
add an agency, suspend and reactivate one, bind a certificate (uploaded PEM), issue a
credential (its secret shown once) and revoke one, each with a reason, through the same
`Registry` operations the admin API calls (Art. 8.2, Art. 22).

Every search and view is journaled (`access.search`, `access.view`); every change is
`access.change` before it runs, and the registry's own `registry.<action>` entry in the
change's transaction (axis/registry/service.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.console import forms, i18n
from adapters.console.web import PREFIX, Console, ConsoleRoute, Ctx, Leave
from adapters.store.registry_search import SqlAgencySearch
from axis.app.registry_browse import PAGE, RegistryBrowse
from axis.auth import keys, roles, signing
from axis.errors import AxisError
from axis.journal.access import Action
from axis.registry.model import AgencyState
from axis.registry.uploaded import read_pem

HERE = f"{PREFIX}/registry"
ADD_FIELDS = ("agency_id", "short_id", "name", "parent_id", "level", "kind",
              "delivery_mode", "endpoint", "contact_email", "contact_phone", "note")

i18n.add({
    "registry.title": ("Danh bạ cơ quan", "Agency registry"),
    "registry.search": ("Tìm theo mã định danh hoặc tên", "Search by identifier or name"),
    "registry.state": ("Trạng thái", "State"),
    "registry.any": ("Tất cả", "Any"),
    "registry.apply": ("Tìm", "Search"),
    "registry.count": ("Số cơ quan tìm thấy", "Agencies found"),
    "registry.agency_id": ("Mã định danh (QCVN 102)", "Identifier (QCVN 102)"),
    "registry.short_id": ("Mã ngắn (QĐ 20/2020)", "Short id (Decision 20/2020)"),
    "registry.name": ("Tên cơ quan", "Name"),
    "registry.parent_id": ("Cơ quan cấp trên", "Parent agency"),
    "registry.level": ("Cấp", "Level"),
    "registry.kind": ("Loại", "Kind"),
    "registry.delivery_mode": ("Cách nhận văn bản", "Delivery mode"),
    "registry.endpoint": ("Địa chỉ nhận (push)", "Push endpoint"),
    "registry.contact_email": ("Thư điện tử liên hệ", "Contact e-mail"),
    "registry.contact_phone": ("Điện thoại liên hệ", "Contact phone"),
    "registry.note": ("Ghi chú", "Note"),
    "registry.served_by": ("Trục phục vụ", "Served by"),
    "registry.none": ("Không có cơ quan nào.", "No agency."),
    "registry.prev": ("← Trang trước", "← Previous"),
    "registry.next": ("Trang sau →", "Next →"),
    "registry.add": ("Thêm cơ quan", "Add an agency"),
    "registry.history": ("Lịch sử thay đổi", "History"),
    "registry.when": ("Thời điểm", "When"),
    "registry.who": ("Người thực hiện", "Who"),
    "registry.action": ("Thao tác", "Action"),
    "registry.why": ("Lý do", "Reason"),
    "registry.before": ("Trước", "Before"),
    "registry.after": ("Sau", "After"),
    "registry.certificates": ("Chứng thư số đã gắn", "Bound certificates"),
    "registry.no_certificates": ("Chưa gắn chứng thư số nào.", "No certificate bound."),
    "registry.credentials": ("Tài khoản kết nối của hệ thống", "System credentials"),
    "registry.no_credentials": ("Chưa có tài khoản kết nối.", "No credential."),
    "registry.system_id": ("Mã hệ thống", "System id"),
    "registry.issued_at": ("Cấp lúc", "Issued"),
    "registry.revoked_at": ("Thu hồi lúc", "Revoked"),
    "registry.suspend": ("Tạm dừng", "Suspend"),
    "registry.reactivate": ("Kích hoạt lại", "Reactivate"),
    "registry.bind": ("Gắn chứng thư số (PEM)", "Bind a certificate (PEM)"),
    "registry.issue": ("Cấp tài khoản kết nối", "Issue a credential"),
    "registry.revoke": ("Thu hồi", "Revoke"),
    "registry.secret_title": ("Tài khoản kết nối mới", "New credential"),
    "registry.secret_once": ("Mật khẩu chỉ hiển thị MỘT lần: hãy chuyển ngay cho đơn vị "
                             "theo kênh an toàn. Hệ thống chỉ lưu mã băm.",
                             "The secret is shown ONCE: hand it to the agency now over a "
                             "safe channel. The node keeps only its hash."),
    "registry.secret": ("Mật khẩu", "Secret"),
    "registry.back": ("Về trang cơ quan", "Back to the agency"),
    "registry.refused": ("Danh bạ từ chối thay đổi", "The registry refused the change"),
    "agency_state.active": ("Đang hoạt động", "Active"),
    "agency_state.suspended": ("Tạm dừng", "Suspended"),
    "agency_state.retired": ("Đã giải thể", "Retired"),
})


def _browse(console: Console) -> RegistryBrowse:
    return RegistryBrowse(SqlAgencySearch(console.node.engine), console.node.registry)


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=HERE, route_class=ConsoleRoute, include_in_schema=False)
    browse, reg, settings = _browse(console), console.node.registry, console.settings
    # Defaults, not Annotated (see login.py).
    viewer = Depends(console.need(roles.VIEWER))
    admin = Depends(console.need(roles.REGISTRY_ADMIN))

    def secret_for(system_id: str) -> str:
        # As the admin API: agency secrets are derived from the master key.
        return signing.derive_secret(keys.master_key(settings), system_id)

    def refused(ctx: Ctx, exc: AxisError) -> Leave:
        return forms.refused(ctx, exc, ctx.t("registry.refused"))

    async def change_form(request: Request, ctx: Ctx, target: str, action: str,
                          **detail: object) -> tuple[Any, str]:
        """The form of a change: CSRF, its reason, journaled before it runs."""
        form = await request.form()
        ctx.check_form(form)
        reason = ctx.reason(form)
        ctx.journal(Action.CHANGE, target, reason=reason, change=action, **detail)
        return form, reason

    def to_agency(agency_id: str) -> Response:
        return RedirectResponse(f"{HERE}/agency/{agency_id}", status_code=303)

    @r.get("")
    def search(q: str = "", state: str = "", offset: int = 0, ctx: Ctx = viewer) -> Response:
        q, offset = q.strip()[:200], max(0, offset)
        wanted = AgencyState(state) if state in {s.value for s in AgencyState} else None
        ctx.journal(Action.SEARCH, HERE, q=q, state=state, offset=offset)
        found = browse.page(text=q, state=wanted, offset=offset, limit=PAGE)
        return ctx.render("registry.html", found=found, q=q, state=state,
                          states=[s.value for s in AgencyState],
                          may_change=ctx.who.may(roles.REGISTRY_ADMIN), fields=ADD_FIELDS)

    @r.get("/agency/{agency_id}")
    def agency(agency_id: str, ctx: Ctx = viewer) -> Response:
        ctx.journal(Action.VIEW, f"{HERE}/agency/{agency_id}")
        try:
            detail = browse.agency(agency_id)
        except AxisError as exc:
            raise refused(ctx, exc) from exc
        return ctx.render("registry_agency.html", d=detail,
                          may_change=ctx.who.may(roles.REGISTRY_ADMIN))

    @r.post("/add")
    async def add(request: Request, ctx: Ctx = admin) -> Response:
        named = str((await request.form()).get("agency_id", ""))[:64]
        form, reason = await change_form(request, ctx, HERE, "add", agency_id=named)
        try:
            a = browse.add({k: str(form.get(k, "")) for k in ADD_FIELDS},
                           actor=ctx.who.name, reason=reason)
        except AxisError as exc:
            raise refused(ctx, exc) from exc
        return to_agency(a.agency_id)

    def state_route(action: str) -> None:
        """POST /agency/{id}/suspend|reactivate, each with its reason."""
        move = getattr(reg, action)

        async def change_state(agency_id: str, request: Request, ctx: Ctx = admin
                               ) -> Response:
            _, reason = await change_form(request, ctx, f"{HERE}/agency/{agency_id}",
                                          action)
            try:
                move(agency_id, actor=ctx.who.name, reason=reason)
            except AxisError as exc:
                raise refused(ctx, exc) from exc
            return to_agency(agency_id)

        r.add_api_route(f"/agency/{{agency_id}}/{action}", change_state, methods=["POST"],
                        name=f"console_{action}")

    for action in ("suspend", "reactivate"):
        state_route(action)

    @r.post("/agency/{agency_id}/certificates")
    async def bind(agency_id: str, request: Request, ctx: Ctx = admin) -> Response:
        form, reason = await change_form(request, ctx, f"{HERE}/agency/{agency_id}",
                                         "bind-certificate")
        try:
            cert = read_pem(str(form.get("pem", "")))
            reg.bind_certificate(agency_id, cert.fingerprint, actor=ctx.who.name,
                                 reason=reason)
        except AxisError as exc:
            raise refused(ctx, exc) from exc
        return to_agency(agency_id)

    @r.post("/agency/{agency_id}/credentials")
    async def issue(agency_id: str, request: Request, ctx: Ctx = admin) -> Response:
        _, reason = await change_form(request, ctx, f"{HERE}/agency/{agency_id}",
                                      "issue-credential")
        try:
            issued = reg.issue_credential(agency_id, actor=ctx.who.name, reason=reason,
                                          system_id=None, secret_for=secret_for)
        except AxisError as exc:
            raise refused(ctx, exc) from exc
        # Rendered, not redirected: the secret exists in this answer only (no-store).
        page: HTMLResponse = ctx.render("registry_secret.html", issued=issued,
                                        agency_id=agency_id)
        return page

    @r.post("/agency/{agency_id}/credentials/{system_id}/revoke")
    async def revoke(agency_id: str, system_id: str, request: Request,
                     ctx: Ctx = admin) -> Response:
        _, reason = await change_form(request, ctx, f"{HERE}/agency/{agency_id}",
                                      "revoke-credential", system_id=system_id)
        try:
            reg.revoke_credential(system_id, actor=ctx.who.name, reason=reason)
        except AxisError as exc:
            raise refused(ctx, exc) from exc
        return to_agency(agency_id)

    return r

