"""The exchange's hooks for an authenticated edge (tests/test_exchange_flow.py style):
the signed sender must be one the caller speaks for, and the declared messageType must be
the package's; both are refusals journaled like any other, checked after the signature."""

from __future__ import annotations

import pytest
from exchange_support import NOI_VU, TAI_CHINH, UBND, TestNode

from axis.edxml.model import Kind, StatusCode
from axis.errors import AxisError


def refusal(t: TestNode, raw: bytes, **kw: object) -> str:
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(raw, **kw)  # type: ignore[arg-type]
    last = list(t.node.store.journal())[-1]
    assert (last.kind, last.subject) == ("package.refused", info.value.error_id)
    return info.value.code.id


def test_sender_must_be_the_caller_or_its_unit(t: TestNode) -> None:
    reg = t.node.registry
    _, raw = t.document(UBND, (NOI_VU,), 601)
    as_noi_vu = {"sender_allowed": lambda s: reg.speaks_for(NOI_VU, s)}
    assert refusal(t, raw, **as_noi_vu) == "auth.sender_mismatch"
    # UBND speaks for itself and for its units (Nội vụ is one).
    t.node.exchange.submit(raw, sender_allowed=lambda s: reg.speaks_for(UBND, s))
    _, unit = t.document(NOI_VU, (TAI_CHINH,), 602)
    t.node.exchange.submit(unit, sender_allowed=lambda s: reg.speaks_for(UBND, s))
    # The predicate sees the signed sender only: a tampered From fails the signature first.
    forged = raw.replace(UBND.encode(), NOI_VU.encode(), 1)
    assert refusal(t, forged, **as_noi_vu).startswith("trust.")
    assert t.deliver_all() == 2


def test_declared_message_type(t: TestNode) -> None:
    doc_id, raw = t.document(UBND, (NOI_VU,), 603)
    assert refusal(t, raw, kind=Kind.STATUS) == "policy.message_type_mismatch"
    t.node.exchange.submit(raw, kind=Kind.EDOC)
    status = t.status(NOI_VU, UBND, doc_id, StatusCode.ARRIVED)
    assert refusal(t, status, kind=Kind.EDOC) == "policy.message_type_mismatch"
