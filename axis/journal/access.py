"""Audit the auditor (issue 11, item 4): every search, view, download, export, resend and
change made through the console or the admin API is a journal entry, with who, their
role, what and why, in the same hash chain as the traffic it looked at.

Fail closed, like every other step: the entry is written BEFORE the answer is computed,
in its own transaction; if the journal cannot be written, nothing is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from axis.clock import Clock
from axis.route.ports import RouteStore

KIND_PREFIX = "access."
MAX_REASON = 500  # a reason is a sentence, an inspection's reference: not a document


class Action(StrEnum):
    SEARCH = "search"  # a list or search over traffic, the registry, the journal
    VIEW = "view"  # one document's trail, one agency, one delivery
    DOWNLOAD = "download"  # package or acknowledgement bytes
    EXPORT = "export"  # an evidence bundle, a CSV
    VERIFY = "verify"  # a journal verification run
    RESEND = "resend"  # a dead letter requeued, a peer's copies resent
    CHANGE = "change"  # the registry, credentials, notices (their own entries say what)
    LOGIN = "login"
    LOGOUT = "logout"


class Channel(StrEnum):
    CONSOLE = "console"
    API = "api"


@dataclass(frozen=True, slots=True)
class Access:
    actor: str  # the administrator's token name
    role: str
    action: Action
    target: str  # what was looked at: a path, a document id, a query
    channel: Channel
    reason: str = ""
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccessJournal:
    store: RouteStore
    clock: Clock

    def record(self, access: Access) -> int:
        """Journal one access (`access.<action>`, subject: its target); its seq."""
        with self.store.transaction() as tx:
            entry = tx.append_journal(self.clock.now(), KIND_PREFIX + access.action.value,
                                      access.target[:500], {
                                          "actor": access.actor, "role": access.role,
                                          "channel": access.channel.value,
                                          "reason": access.reason[:MAX_REASON],
                                          "detail": dict(access.detail)})
        return entry.seq
