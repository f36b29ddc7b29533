"""Overview (viewer): the traffic per hour and per day, accepted against refused by error
code, delivery latency, what waits per agency and per peer, the certificate and CRL ages
and the health of the background jobs — as charts (SVG, drawn on the server) and as
tables of the same figures.

The page view is journaled (`access.view`); the charts are the same aggregate figures
the journaled page shows, fetched by the page itself, and are not journaled again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from adapters.console import charts, fmt, i18n, reads
from adapters.console.web import PREFIX, Console, ConsoleRoute, Ctx, Leave
from axis.app.traffic import DAY, HOUR
from axis.auth import roles
from axis.journal.access import Action

i18n.add({
    "ov.title": ("Tổng quan hoạt động của trục", "Overview of the exchange"),
    "ov.hours": ("Lưu lượng theo giờ (48 giờ qua)", "Traffic per hour (last 48 hours)"),
    "ov.days": ("Lưu lượng theo ngày (30 ngày qua)", "Traffic per day (last 30 days)"),
    "ov.refusals": ("Gói tin bị từ chối theo mã lỗi (30 ngày qua)",
                    "Refused packages by error code (last 30 days)"),
    "ov.latency": ("Thời gian chuyển phát: tiếp nhận → bên nhận lấy về",
                   "Delivery latency: accepted → taken by the recipient"),
    "ov.waiting": ("Văn bản đang chờ theo cơ quan nhận", "Copies waiting per recipient"),
    "ov.peers": ("Trục ngang hàng", "Peer nodes"),
    "ov.trust": ("Chứng thư số và danh sách thu hồi (CRL)",
                 "Certificates and revocation lists (CRL)"),
    "ov.jobs": ("Tình trạng tác vụ nền", "Background jobs"),
    "ov.accepted": ("Tiếp nhận", "Accepted"),
    "ov.refused": ("Từ chối", "Refused"),
    "ov.packages": ("Số gói tin", "Packages"),
    "ov.none": ("Chưa có dữ liệu", "No data yet"),
    "ov.median": ("Trung vị", "Median"),
    "ov.p95": ("Phân vị 95", "95th percentile"),
    "ov.minutes": ("Phút", "Minutes"),
    "ov.waiting_n": ("Đang chờ", "Waiting"),
    "ov.total_30d": ("Tổng 30 ngày", "Total, 30 days"),
    "ov.code": ("Mã lỗi", "Error code"),
    "ov.count": ("Số lượng", "Count"),
    "ov.day": ("Ngày", "Day"),
    "ov.hour": ("Giờ", "Hour"),
    "ov.delivered": ("Đã chuyển", "Delivered"),
    "ov.agency": ("Cơ quan", "Agency"),
    "ov.oldest": ("Chờ lâu nhất từ", "Oldest waiting since"),
    "ov.broker": ("Hàng đợi broker", "Broker queue"),
    "ov.peer": ("Trục", "Peer"),
    "ov.attempts": ("Số lần thử", "Attempts"),
    "ov.dead": ("Chuyển thất bại", "Dead letters"),
    "ov.reachable": ("Kết nối", "Reachable"),
    "ov.yes": ("Có", "Yes"),
    "ov.no": ("Không", "No"),
    "ov.cert_expires": ("Chứng thư số của trục hết hạn", "Node certificate expires"),
    "ov.days_left": ("ngày nữa", "days left"),
    "ov.crl_source": ("Nguồn CRL", "CRL source"),
    "ov.crl_age": ("Cập nhật cách đây", "Refreshed ago"),
    "ov.job": ("Tác vụ", "Job"),
    "ov.kind": ("Loại", "Kind"),
    "ov.state": ("Trạng thái", "State"),
    "ov.last_success": ("Lần chạy tốt gần nhất", "Last success"),
    "ov.last_error": ("Lỗi gần nhất", "Last error"),
    "ov.failures": ("Số lần lỗi", "Failures"),
    "ov.unknown": ("không đọc được", "unreadable"),
    "ov.chart_of": ("Biểu đồ", "Chart"),
    "ov.table": ("Số liệu", "Figures"),
    "ov.kind.job": ("định kỳ", "job"),
    "ov.kind.loop": ("vòng lặp", "loop"),
    "ov.live.alive": ("Đang chạy", "Alive"),
    "ov.live.late": ("Chậm", "Late"),
    "ov.live.dead": ("Đã dừng", "Dead"),
})

def _labels(ctx: Ctx) -> dict[str, str]:
    return {k: ctx.t(f"ov.{k}") for k in ("accepted", "refused", "packages", "none",
                                         "median", "p95", "minutes")} | {
        "waiting": ctx.t("ov.waiting_n")}


def duration(delta: timedelta, lang: str) -> str:
    """A short age: "3 ngày 4 giờ" / "3 d 4 h"; minutes under an hour."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    d, rest = divmod(seconds, 86_400)
    h, rest = divmod(rest, 3_600)
    m, s = divmod(rest, 60)
    units = ("ngày", "giờ", "phút", "giây") if lang == "vi" else ("d", "h", "min", "s")
    if not (d or h or m):
        return f"{sign}{s} {units[3]}"
    parts = [f"{d} {units[0]}"] if d else []
    if h or d:
        parts.append(f"{h} {units[1]}")
    if not d:
        parts.append(f"{m} {units[2]}")
    return sign + " ".join(parts)


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix=f"{PREFIX}/overview", route_class=ConsoleRoute,
                  include_in_schema=False)
    viewer = Depends(console.need(roles.VIEWER))

    @r.get("", response_class=HTMLResponse)
    def overview(ctx: Ctx = viewer) -> HTMLResponse:
        ctx.journal(Action.VIEW, f"{PREFIX}/overview")
        now = console.now()
        view = reads.traffic(console).overview(now, reads.gauges(console, ctx.request))

        def age(at: datetime) -> str:
            return duration(now - at, ctx.lang)

        return ctx.render("overview.html", v=view, age=age, when=fmt.when,
                          duration=lambda d: duration(d, ctx.lang),
                          seconds=lambda s: duration(timedelta(seconds=s), ctx.lang))

    @r.get("/chart/{name}.svg")
    def chart(name: str, ctx: Ctx = viewer) -> Response:
        ops, now, labels = reads.traffic(console), console.now(), _labels(ctx)
        if name == "hours":
            svg = charts.traffic(ops.series(now, HOUR), labels, every=6)
        elif name == "days":
            svg = charts.traffic(ops.series(now, DAY), labels, every=5)
        elif name == "refusals":
            svg = charts.refusals(ops.refusals(now), labels)
        elif name == "latency":
            svg = charts.latency(ops.latency(now), labels)
        elif name == "waiting":
            svg = charts.waiting(ops.waiting(15), labels)
        else:
            raise Leave(ctx.render("message.html", status=404, title=ctx.t("notfound.title"),
                                   text=name))
        return Response(svg, media_type="image/svg+xml",
                        headers={"Cache-Control": "no-store",
                                 "Content-Security-Policy": "default-src 'none'; "
                                 "style-src 'unsafe-inline'"})

    return r
