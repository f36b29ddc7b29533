"""Real traffic for the console's traffic pages (Overview, Messages, Document): signed
packages submitted through the node, delivered, taken, answered; refusals of two kinds;
a copy whose push channel has spent attempts (recorded by the push channel's own store,
adapters/push/attempts.py). Times move on the node's fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from admin_support import serve, start
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, UBND, TestNode

from adapters.push.attempts import PushAttempts
from axis.edxml.model import Priority, StatusCode
from axis.errors import AxisError


@dataclass(frozen=True)
class Traffic:
    doc_a: str  # UBND → NOI_VU (taken after 30 min, answered 03) and TAI_CHINH (waiting)
    raw_a: bytes
    doc_b: str  # TAI_CHINH → KE_HOACH, urgent, waiting, two push attempts spent
    retried: str  # doc_b's copy: its delivery id
    refused: tuple[str, ...]  # the refusals' error codes, as journaled


def make_traffic(t: TestNode) -> Traffic:
    ex = t.node.exchange
    doc_a, raw_a = t.document(UBND, (NOI_VU, TAI_CHINH), 1)
    ex.submit(raw_a)
    t.deliver_all()
    t.clock.advance(timedelta(minutes=30))
    for item in ex.inbox(NOI_VU):
        ex.take(NOI_VU, item.delivery_id)
    ex.emit_due_arrivals()
    t.deliver_all()
    t.clock.advance(timedelta(hours=1))
    ex.submit(t.status(NOI_VU, UBND, doc_a, StatusCode.REGISTERED, "Đã vào sổ"))
    t.deliver_all()
    t.clock.advance(timedelta(hours=2))
    doc_b, raw_b = t.document(TAI_CHINH, (KE_HOACH,), 7, priority=Priority.URGENT)
    retried = ex.submit(raw_b).deliveries[0].delivery_id
    t.deliver_all()
    attempts = PushAttempts(t.node.store.engine)
    for n in range(2):  # what the push channel records of two failed POSTs
        assert attempts.claim(retried, t.clock.now() + timedelta(minutes=n),
                              timedelta(seconds=30)) == n + 1
        attempts.failed(retried, due=t.clock.now() + timedelta(minutes=n + 1),
                        error="HTTP 503")
    for raw in (t.document(UBND, (NOI_VU,), 8, signed=False)[1], b"<khong-phai-edxml/>"):
        with pytest.raises(AxisError):
            ex.submit(raw)
    refused = tuple(str(e.payload["code"]) for e in t.node.store.journal()
                    if e.kind == "package.refused")
    assert len(refused) == 2
    t.clock.advance(timedelta(minutes=15))
    return Traffic(doc_a, raw_a, doc_b, retried, refused)


# Imported by the test modules as `node_fixture, base_fixture`: the tests ask for `t`
# and `base`.
@pytest.fixture(name="t")
def node_fixture(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs)
    yield node
    node.node.close()


@pytest.fixture(name="base")
def base_fixture(t: TestNode) -> Iterator[str]:
    with serve(t) as client:
        yield str(client.base_url)


def accesses(t: TestNode, action: str) -> list[dict[str, Any]]:
    """The console's access entries of one action: subject and payload."""
    return [{"target": e.subject, **e.payload} for e in t.node.store.journal()
            if e.kind == f"access.{action}"]
