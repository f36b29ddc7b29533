"""Which part of a document's trail an agency may see: its own documents only.

An agency sees a trail entry when it speaks for (is, or is a parent of) the agency the
entry is about, or for the sender or the recipient of the delivery the entry concerns.
So the original sender sees every recipient's history of its document (every delivery is
from it or to it: the copies it sent and the statuses coming back), a recipient sees its
own copy and the statuses it sent, and a third agency sees nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from axis.route.model import Delivery, TrailEntry


def visible(
    entries: Iterable[TrailEntry], speaks_for: frozenset[str],
    delivery: Callable[[str], Delivery | None],
) -> list[TrailEntry]:
    """The entries `speaks_for` (the caller and its descendants) may see."""
    out: list[TrailEntry] = []
    cache: dict[str, Delivery | None] = {}
    for e in entries:
        if e.agency_id in speaks_for:
            out.append(e)
            continue
        if e.delivery_id is None:
            continue
        if e.delivery_id not in cache:
            cache[e.delivery_id] = delivery(e.delivery_id)
        d = cache[e.delivery_id]
        if d is not None and (d.sender_id in speaks_for or d.recipient_id in speaks_for):
            out.append(e)
    return out
