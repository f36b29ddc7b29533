"""How the console writes times and sizes for people: Vietnam time, day first."""

from __future__ import annotations

from datetime import datetime

from axis.clock import as_vietnam


def when(at: datetime | None) -> str:
    """"24/11/2026 09:00:05" in Vietnam time; "" for no time."""
    return "" if at is None else as_vietnam(at).strftime("%d/%m/%Y %H:%M:%S")


def size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
