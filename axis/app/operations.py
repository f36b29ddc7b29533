"""The operator's operations (issue 11, item 5, "Operations"), once for the admin API and
the console: a maintenance notice to every active agency (Art. 21.3), the dead letters of
the channels that retry (push and forwarding to peers) a page at a time, and an
operator's resend of one of them through the channel that gave it up.

A resend is the channel's own second chance (push: `PushDeliverer.requeue`; a peer:
`PeerAdmin.resend`), each journaled there with who and why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from axis import errors
from axis.errors import AxisError
from axis.registry.model import Agency
from axis.route import notices
from axis.route.exchange import Exchange

PAGE = 50


def send_notice(exchange: Exchange, directory: notices.NoticeDirectory,
                validate: Callable[[bytes], object], notice: notices.Notice, *,
                sender_id: str, signer_fingerprint: str, actor: str, reason: str
                ) -> notices.NoticeReceipt:
    """A signed notice in the inbox of every active agency (axis/route/notices.py),
    checked against the node's own schemas before anything is stored."""

    def self_check(raw: bytes) -> None:
        try:
            validate(raw)
        except AxisError as exc:  # the node built it: its fault, not the caller's
            raise errors.INTERNAL.error(f"notice package invalid: {exc}") from exc

    return notices.broadcast(exchange, directory, notice, sender_id=sender_id, actor=actor,
                             reason=reason, signer_fingerprint=signer_fingerprint,
                             self_check=self_check)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    delivery_id: str
    document_id: str
    sender_id: str
    recipient_id: str
    accepted_at: datetime
    failed_at: datetime | None  # from the trail's `failed` step
    detail: str  # "push: 8 attempts; HTTP 503" (the channel, attempts, last error)

    @property
    def channel(self) -> str:
        return self.detail.partition(":")[0] if ":" in self.detail else ""


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    total: int
    offset: int
    limit: int
    letters: tuple[DeadLetter, ...]


class DeadLetterReads(Protocol):
    """Dead letters (deliveries FAILED), newest first (adapters/store/dead_letters.py)."""

    def page(self, limit: int, offset: int) -> tuple[int, list[DeadLetter]]: ...

    def get(self, delivery_id: str) -> DeadLetter | None: ...


class Requeue(Protocol):
    def __call__(self, delivery_id: str, *, actor: str, reason: str) -> bool: ...


class PeerResend(Protocol):
    def __call__(self, name: str, delivery_ids: Sequence[str] = (), *, actor: str,
                 reason: str) -> list[str]: ...


class DeadLetters:
    def __init__(self, *, reads: DeadLetterReads, find: Callable[[str], Agency | None],
                 push_requeue: Requeue, peer_resend: PeerResend,
                 wake: Callable[[], None]) -> None:
        self._reads, self._find = reads, find
        self._push, self._peer, self._wake = push_requeue, peer_resend, wake

    def page(self, *, offset: int = 0, limit: int = PAGE) -> DeadLetterPage:
        limit, offset = max(1, min(limit, 500)), max(0, offset)
        total, letters = self._reads.page(limit, offset)
        return DeadLetterPage(total, offset, limit, tuple(letters))

    def resend(self, delivery_id: str, *, actor: str, reason: str) -> str:
        """Back in its queue with a fresh budget, through the channel that serves the
        recipient now; the channel's name ("push" or the peer's). delivery.unknown when
        it is not a dead letter."""
        letter = self._reads.get(delivery_id)
        if letter is None:
            raise errors.DELIVERY_UNKNOWN.error(f"{delivery_id}: not a dead letter")
        agency = self._find(letter.recipient_id)
        peer = agency.peer if agency is not None else None
        if peer is not None:
            done = bool(self._peer(peer, [delivery_id], actor=actor, reason=reason))
        else:
            done = self._push(delivery_id, actor=actor, reason=reason)
        if not done:  # taken back meanwhile by another operator
            raise errors.DELIVERY_UNKNOWN.error(f"{delivery_id}: not a dead letter")
        self._wake()
        return peer or "push"
