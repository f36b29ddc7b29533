"""Words the Messages and Document pages share: delivery states, status codes (spec §5),
business types, priorities (Art. 7.2), trail events, in Vietnamese and English."""

from __future__ import annotations

from adapters.console import i18n
from axis.route.model import DeliveryState, TrailEvent

STATES = tuple(s.value for s in DeliveryState)
STATUS_CODES = tuple(f"{n:02d}" for n in range(1, 17))
BUSINESS = (0, 1, 2, 3)
PRIORITIES = (0, 1, 2, 3, 4)

i18n.add({
    "state.queued": ("Chờ chuyển", "Queued"),
    "state.available": ("Chờ bên nhận lấy", "Available"),
    "state.delivered": ("Bên nhận đã lấy", "Delivered"),
    "state.withdrawn": ("Đã thu hồi", "Withdrawn"),
    "state.failed": ("Chuyển thất bại", "Failed"),
    "state.forwarded": ("Đã chuyển sang trục khác", "Forwarded to a peer"),
    "status.01": ("01 Đã đến", "01 Arrived"),
    "status.02": ("02 Từ chối tiếp nhận", "02 Refused"),
    "status.03": ("03 Đã tiếp nhận", "03 Registered"),
    "status.04": ("04 Phân công", "04 Assigned"),
    "status.05": ("05 Đang xử lý", "05 In progress"),
    "status.06": ("06 Hoàn thành", "06 Done"),
    "status.13": ("13 Yêu cầu lấy lại", "13 Recall requested"),
    "status.15": ("15 Đồng ý cập nhật/lấy lại", "15 Update/recall agreed"),
    "status.16": ("16 Từ chối cập nhật/lấy lại", "16 Update/recall refused"),
    "business.0": ("Văn bản mới", "New document"),
    "business.1": ("Thu hồi", "Recall"),
    "business.2": ("Cập nhật", "Update"),
    "business.3": ("Thay thế", "Replacement"),
    "priority.0": ("Thường", "Normal"),
    "priority.1": ("Khẩn", "Urgent"),
    "priority.2": ("Thượng khẩn", "Very urgent"),
    "priority.3": ("Hỏa tốc", "Flash"),
    "priority.4": ("Hỏa tốc hẹn giờ", "Flash, timed"),
    "sig.verified": ("Chữ ký hợp lệ", "Signature verified"),
    "sig.node": ("Trục ký thay", "Signed by the node"),
    "sig.placeholder": ("Chữ ký giữ chỗ (được phép)", "Placeholder signature (admitted)"),
    "sig.absent": ("Không có chữ ký (được phép)", "No signature (admitted)"),
    "kind.edoc": ("Văn bản", "Document"),
    "kind.status": ("Trạng thái", "Status"),
    **{f"event.{e.value}": pair for e, pair in {
        TrailEvent.RECEIVED: ("Trục tiếp nhận", "Accepted by the node"),
        TrailEvent.DUPLICATE: ("Gửi trùng", "Sent again (duplicate)"),
        TrailEvent.AVAILABLE: ("Sẵn sàng cho bên nhận", "Available to the recipient"),
        TrailEvent.DELIVERED: ("Bên nhận đã lấy", "Taken by the recipient"),
        TrailEvent.STATUS: ("Trạng thái xử lý", "Status"),
        TrailEvent.RECALL: ("Yêu cầu thu hồi", "Recall requested"),
        TrailEvent.SUPERSEDED: ("Được cập nhật/thay thế", "Updated or replaced"),
        TrailEvent.WITHDRAWN: ("Đã thu hồi bản sao", "Copy withdrawn"),
        TrailEvent.FAILED: ("Chuyển thất bại", "Delivery failed"),
        TrailEvent.REFUSED: ("Trục từ chối", "Refused by the node"),
        TrailEvent.FORWARDED: ("Chuyển sang trục khác", "Forwarded to a peer"),
        TrailEvent.HOP_IN: ("Nhận từ trục khác", "Received from a peer"),
    }.items()},
})


def label(prefix: str, value: object, lang: str) -> str:
    """The staff's word for a coded value; the code itself when there is none (07–12)."""
    if value is None or value == "":
        return ""
    key = f"{prefix}.{value}"
    text = i18n.text(key, lang)
    return str(value) if text == key else text
