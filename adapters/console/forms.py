"""What the console's action pages share when reading a form and refusing one: a
wall-clock time field, and an `AxisError` turned into the bilingual message page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.console.web import Ctx, Leave
from axis.clock import VN_TZ
from axis.errors import AxisError


def local_time(form: Mapping[str, Any], key: str) -> datetime | None:
    """An <input type="datetime-local"> (a wall-clock time), read as Vietnam time; None
    when empty, ValueError when not a time."""
    text = str(form.get(key, "")).strip()
    if not text:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=VN_TZ)


def refused(ctx: Ctx, exc: AxisError, title: str) -> Leave:
    """The node's refusal as a page: its stable code, its message in the session's
    language, the detail, with the code's HTTP status."""
    code = exc.code
    text = f"{code.id}: {code.vi if ctx.lang == 'vi' else code.en} {exc.detail}"
    return Leave(ctx.render("message.html", status=code.http_status, title=title, text=text))
