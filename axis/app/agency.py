"""The agency operations, once for every edge: send, list what waits, take a copy, report
the transport state of a copy, read a document's trail, read the registry.

Each operation takes the authenticated caller and typed values, decides who may do what
(the signed sender must be the caller or one of its child units, Art. 7.1; a recipient
reaches only its own copies; a trail shows the caller only its own documents), checks the
identifiers it is given, and answers with a typed value (axis/app/values.py). The edges
(adapters/rest/agency.py, adapters/soap/operations.py) only decode and encode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from axis import errors
from axis.app.ports import Directory, Exchange, TrailStore
from axis.app.values import (
    DEFAULT_PAGE,
    MAX_DOC_ID,
    MAX_DOCUMENT_ID,
    MAX_OFFSET,
    MAX_PAGE,
    AgencyView,
    InboxFilters,
    InboxPage,
    TakenCopy,
    TrailView,
    TransportUpdate,
)
from axis.auth.gate import Caller
from axis.auth.visibility import visible
from axis.edxml.model import Kind
from axis.errors import AxisError, SenderFault
from axis.registry.model import AgencyState
from axis.route.model import Delivery, Receipt, TransportState

# No control characters in an identifier: PostgreSQL cannot even hold a NUL in text, and
# no transport id or DocumentId carries one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def identifier(name: str, value: str, max_len: int) -> str:
    """A well-formed identifier parameter (`docId`, `documentId`): 1 to `max_len`
    characters, none of them a control character; `api.invalid_request` otherwise."""
    if not value or len(value) > max_len or _CONTROL.search(value):
        raise errors.API_INVALID_REQUEST.error(
            f"{name}: 1 to {max_len} characters, no control characters")
    return value


class SentLookup(Protocol):
    """The copies senders sent, newest first (a read the operations' ports do not have
    yet: handed to `sent` by the edge that needs it, adapters/vdxp/sent.py)."""

    def sent_by(self, senders: frozenset[str], *, limit: int) -> list[Delivery]: ...


@dataclass(frozen=True, slots=True)
class AgencyOperations:
    exchange: Exchange
    directory: Directory
    trails: TrailStore
    max_package_bytes: int
    # Called once a submission has queued new deliveries, or a take has made the node owe
    # its 01: the delivery loop (in this process) need not wait for its next poll.
    on_queued: Callable[[], None] = lambda: None

    # --- sending ---------------------------------------------------------------------
    def send(self, caller: Caller, raw: bytes, declared: Kind | None = None, *,
             received: bytes | None = None) -> Receipt:
        """Accept a package from `caller` (its receipt once durable) or raise the
        refusal, journaled with its error id. `declared` is the messageType the caller
        gave (`edxml.message_type_mismatch` when the package is the other kind);
        `received` is the body as the transport carried it, journaled (by digest) with a
        refusal decided before the exchange, `raw` when not given."""
        try:
            if len(raw) > self.max_package_bytes:
                raise errors.TOO_LARGE.error(f"{len(raw)} bytes")
        except SenderFault as exc:
            self.refused(exc, raw if received is None else received)
            raise
        me = caller.agency_id
        # Art. 7.1: the signed sender (From/OrganId) is the caller or one of its child
        # units; checked by the exchange after the signature, so on what was signed.
        receipt = self.exchange.submit(
            raw, kind=declared,
            sender_allowed=lambda sender: self.directory.speaks_for(me, sender))
        self.on_queued()
        return receipt

    def refused(self, exc: AxisError, received: bytes) -> None:
        """Journal a submission an edge refused while decoding it (a multipart body
        without a boundary, base64 that is not): every refused package leaves its trace
        (issue 8, item 10)."""
        self.exchange.refused(exc, received)

    # --- the recipient's side ----------------------------------------------------------
    def list_received(self, caller: Caller, filters: InboxFilters) -> InboxPage:
        """What waits for the caller: urgent first (Art. 7.2), then by arrival."""
        if not 0 <= filters.offset <= MAX_OFFSET:
            raise errors.API_INVALID_REQUEST.error(f"offset: 0 to {MAX_OFFSET}")
        if not 1 <= filters.limit <= MAX_PAGE:
            raise errors.API_INVALID_REQUEST.error(f"limit: 1 to {MAX_PAGE}")
        items = self.exchange.inbox(
            caller.agency_id, kind=filters.kind, since=filters.since, until=filters.until,
            offset=filters.offset, limit=filters.limit + 1)
        more = len(items) > filters.limit
        return InboxPage(items=tuple(items[:filters.limit]), offset=filters.offset,
                         limit=filters.limit,
                         next_offset=filters.offset + filters.limit if more else None)

    def get(self, caller: Caller, doc_id: str) -> TakenCopy:
        """The caller's copy, byte-identical. The first take delivers it: its receipt
        time counts from then, or from the next office session outside office hours
        (Art. 11.2), and the node tells the sender 01 on the recipient's behalf. Another
        agency's copy is as unknown as one that does not exist (`delivery.unknown`)."""
        delivery, content = self.exchange.take_copy(caller.agency_id,
                                                    identifier("docId", doc_id, MAX_DOC_ID))
        self.on_queued()
        return TakenCopy(delivery, content)

    def update_status(self, caller: Caller, doc_id: str,
                      status: TransportState) -> TransportUpdate:
        """The recipient system's own state of its copy (processing, done, fail).
        Business statuses (01–16) travel as status packages through `send`."""
        identifier("docId", doc_id, MAX_DOC_ID)
        if status is TransportState.NONE:  # the state before any report, not a report
            raise errors.API_INVALID_REQUEST.error("status: one of processing, done, fail")
        self.exchange.update_transport(caller.agency_id, doc_id, status)
        return TransportUpdate(doc_id, status)

    # --- reading -----------------------------------------------------------------------
    def trail(self, caller: Caller, document_id: str) -> TrailView:
        """The history of one of the caller's documents: every recipient's copy for its
        sender, its own copy for a recipient; nothing for anyone else
        (`api.document_unknown`, as for a document that does not exist)."""
        identifier("documentId", document_id, MAX_DOCUMENT_ID)
        me = caller.agency_id
        mine = frozenset({me} | {a.agency_id
                                 for a in self.directory.children_of(me, recursive=True)})
        with self.trails.reading() as tx:
            entries = visible(tx.trail(document_id), mine, tx.get_delivery)
        if not entries:
            raise errors.API_DOCUMENT_UNKNOWN.error(repr(document_id))
        return TrailView(document_id, tuple(entries))

    def sent(self, caller: Caller, lookup: SentLookup, *,
             limit: int = DEFAULT_PAGE) -> tuple[Delivery, ...]:
        """The copies of what the caller (or one of its child units) sent, newest first:
        one per recipient, with its transport and delivery state (the national axis's
        getSentEdocList). Node-made acknowledgements are not the caller's sending."""
        if not 1 <= limit <= MAX_PAGE:
            raise errors.API_INVALID_REQUEST.error(f"limit: 1 to {MAX_PAGE}")
        me = caller.agency_id
        mine = frozenset({me} | {a.agency_id
                                 for a in self.directory.children_of(me, recursive=True)})
        return tuple(lookup.sent_by(mine, limit=limit))

    def agencies(self, caller: Caller) -> AgencyView:
        """Registered agencies an agency can address: active and suspended ones (the
        edges leave out the administrators' notes, endpoints and certificates)."""
        return AgencyView(caller.agency_id, tuple(
            a for a in self.directory.list() if a.state is not AgencyState.RETIRED))
