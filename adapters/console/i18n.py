"""The console's two languages: Vietnamese by default (what agency staff read), English
on request. One table; a missing key shows the key itself, which the tests catch."""

from __future__ import annotations

from typing import Final

LANGS: Final = ("vi", "en")
COOKIE = "axis_lang"

_TEXT: Final[dict[str, tuple[str, str]]] = {
    "app.title": ("Trục liên thông văn bản tỉnh", "Provincial document exchange"),
    "nav.overview": ("Tổng quan", "Overview"),
    "nav.messages": ("Văn bản", "Messages"),
    "nav.journal": ("Nhật ký", "Journal"),
    "nav.registry": ("Danh bạ cơ quan", "Registry"),
    "nav.operations": ("Vận hành", "Operations"),
    "nav.tasks": ("Nhiệm vụ", "Tasks"),
    "login.title": ("Đăng nhập", "Log in"),
    "login.token": ("Mã truy cập quản trị", "Administrator token"),
    "login.purpose": ("Mục đích phiên làm việc", "Purpose of this session"),
    "login.purpose_hint": ("Ví dụ: số quyết định thanh tra, số phiếu yêu cầu",
                           "E.g. an inspection decision number, a ticket number"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.failed": ("Mã truy cập không hợp lệ.", "Invalid token."),
    "login.purpose_missing": ("Hãy nêu mục đích phiên làm việc.",
                              "State the purpose of the session."),
    "logout": ("Đăng xuất", "Log out"),
    "session.as": ("Đăng nhập với vai trò", "Logged in as"),
    "session.purpose": ("Mục đích", "Purpose"),
    "denied.title": ("Không có quyền", "Not allowed"),
    "denied.text": ("Vai trò của bạn không được phép truy cập trang hoặc thao tác này.",
                    "Your role may not open this page or perform this action."),
    "notfound.title": ("Không tìm thấy", "Not found"),
    "csrf.failed": ("Biểu mẫu đã hết hạn, hãy thử lại.", "The form expired; try again."),
    "reason": ("Lý do", "Reason"),
    "reason_missing": ("Hãy nêu lý do.", "Give a reason."),
    "lang.switch": ("English", "Tiếng Việt"),
}


def text(key: str, lang: str) -> str:
    pair = _TEXT.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def add(entries: dict[str, tuple[str, str]]) -> None:
    """Pages register their own strings at import (each page module owns its words)."""
    for key, pair in entries.items():
        if key in _TEXT and _TEXT[key] != pair:
            raise ValueError(f"console text {key!r} defined twice")
        _TEXT[key] = pair


def lang_of(cookie: str | None, query: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGS:
            return candidate
    return "vi"
