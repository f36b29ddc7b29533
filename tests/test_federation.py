"""Federation through the national axis (issue 10): two provincial nodes and the simulated
national axis (tests/federation_support.py). Everything real but the clocks: the
simulator is a child process speaking vdxp.md over HTTP, the packages are signed with
real keys, each node has its own SQLite database."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from exchange_support import UBND
from federation_support import NA_SO_NV, NA_UBND, direct, external_agency, federation

from axis.edxml.model import Business, BusinessType, Kind, Priority, StatusCode
from axis.errors import AxisError
from axis.federation.sent import SentReconciler
from axis.registry.model import Agency, AgencyKind
from axis.route.model import DeliveryState, TrailEvent


def test_document_to_another_province_and_statuses_back(tmp_path: Path) -> None:
    with federation(tmp_path) as f:
        doc_id, raw = f.ls.document(UBND, (NA_UBND, NA_SO_NV), 1)
        receipt = f.ls.node.exchange.submit(raw)
        assert len(receipt.deliveries) == 2
        f.step()
        # Lạng Sơn forwarded both copies in one call to the national axis.
        with f.ls.node.store.reading() as tx:
            sent = [tx.get_delivery(d.delivery_id) for d in receipt.deliveries]
        assert all(d is not None and d.state is DeliveryState.FORWARDED for d in sent)
        # Nghệ An took it from the national axis: one copy per local recipient.
        inbox = f.na.node.exchange.inbox(NA_UBND)
        assert [i.document_id for i in inbox] == [doc_id]
        _, body = f.na.node.exchange.take(NA_UBND, inbox[0].delivery_id)
        assert body == raw  # byte-identical across the hop
        # Its recipient answers 03..06 in turn; the node's own 01 came with the take.
        for code in (StatusCode.REGISTERED, StatusCode.ASSIGNED, StatusCode.IN_PROGRESS,
                     StatusCode.DONE):
            f.na.node.exchange.submit(f.na.status(NA_UBND, UBND, doc_id, code))
        f.step(4)
        got = [i.status_code or "" for i in f.ls.node.exchange.inbox(UBND)]
        assert sorted(got) == ["01", "03", "04", "05", "06"], got
        trail = f.ls.node.exchange.trail(doc_id)
        events = [e.event for e in trail]
        assert TrailEvent.FORWARDED in events and TrailEvent.HOP_IN in events
        hops = [e for e in trail if e.event is TrailEvent.FORWARDED]
        assert {e.agency_id for e in hops} == {NA_UBND, NA_SO_NV}
        assert all(e.detail.startswith("peer national: ") for e in hops)


def test_a_duplicate_from_the_peer_is_done_and_delivered_once(tmp_path: Path) -> None:
    """The same package handed to the national axis twice (a forwarding node killed
    after the peer accepted it and before it marked the copy): this national axis lists
    it twice under two ids; the receiving node acknowledges both `done` and delivers
    once."""
    with federation(tmp_path, sim_extra={"dedupe_sends": False}) as f:
        _, raw = f.ls.document(UBND, (NA_UBND,), 2)
        f.ls.node.exchange.submit(raw)
        f.step()
        peer = f.ls.node.peers.get("national")
        assert peer is not None
        content = f.ls.node.exchange.blobs.content(hashlib.sha256(raw).hexdigest())
        f.ls.node.peer_link.send(peer, content, sender=UBND, recipients=[NA_UBND],
                                 kind=Kind.EDOC)
        report = f.na.node.intake.poll_all()
        assert (report.accepted, report.duplicates, report.refused) == (0, 1, 0)
        assert len(f.na.node.exchange.inbox(NA_UBND)) == 1
        national = f.na.node.peers.get("national")
        assert national is not None
        assert f.na.node.peer_link.listed(national, "edoc") == []  # both acknowledged done


def test_a_duplicate_pushed_by_an_axis_peer_is_ok_and_delivered_once(
        tmp_path: Path) -> None:
    with federation(tmp_path) as f, direct(f, tmp_path):
        _, raw = f.ls.document(UBND, (NA_UBND,), 9)
        f.ls.node.exchange.submit(raw)
        f.step()
        peer = f.ls.node.peers.get("h41")
        assert peer is not None
        content = f.ls.node.exchange.blobs.content(hashlib.sha256(raw).hexdigest())
        # A retry comes later (the same signed request again is a replay: vdxp.stale).
        f.ls.clock.advance(timedelta(seconds=5))
        again = f.ls.node.peer_link.send(peer, content, sender=UBND, recipients=[NA_UBND],
                                         kind=Kind.EDOC)  # raises on a FAIL answer
        assert again == hashlib.sha256(raw).hexdigest()
        assert len(f.na.node.exchange.inbox(NA_UBND)) == 1


def test_axis_to_axis_directly_statuses_recall_and_update(tmp_path: Path) -> None:
    """No national axis in the path: each node hands packages to the other's /vdxp/."""
    with federation(tmp_path) as f, direct(f, tmp_path):
        doc_id, raw = f.ls.document(UBND, (NA_UBND,), 3)
        receipt = f.ls.node.exchange.submit(raw)
        f.step()
        [item] = f.na.node.exchange.inbox(NA_UBND)
        _, body = f.na.node.exchange.take(NA_UBND, item.delivery_id)
        assert body == raw
        f.na.node.exchange.submit(f.na.status(NA_UBND, UBND, doc_id, StatusCode.DONE))
        f.step()
        assert sorted(i.status_code or "" for i in f.ls.node.exchange.inbox(UBND)) == [
            "01", "06"]
        hop = [e for e in f.ls.node.exchange.trail(doc_id)
               if e.event is TrailEvent.FORWARDED]
        assert [e.detail.split(":")[0] for e in hop] == ["peer h41"]
        # Nothing went through the national axis: it lists nothing for Nghệ An.
        national = f.na.node.peers.get("national")
        assert national is not None and f.na.node.peer_link.listed(national, "edoc") == []

        # An update linked to the original (business type 2): it reaches the recipient,
        # and the recipient's trail links it.
        update = Business(doc_type=BusinessType.UPDATE, reason="Sửa đổi",
                          document_id=doc_id)
        _, upd = f.ls.document(UBND, (NA_UBND,), 4, business=update)
        f.ls.node.exchange.submit(upd)
        f.step()
        assert len(f.na.node.exchange.inbox(NA_UBND)) == 1

        # A recall before delivery: the copy is already at Nghệ An's node (forwarded),
        # so the recall travels there and withdraws it; the 15 comes back.
        doc2, raw2 = f.ls.document(UBND, (NA_UBND,), 5)
        f.ls.node.exchange.submit(raw2)
        f.step()
        before = {i.document_id for i in f.na.node.exchange.inbox(NA_UBND)}
        assert doc2 in before
        f.ls.node.exchange.submit(f.ls.recall_document(UBND, (NA_UBND,), doc2, 6))
        f.step()
        assert doc2 not in {i.document_id for i in f.na.node.exchange.inbox(NA_UBND)}
        codes = [i.status_code for i in f.ls.node.exchange.inbox(UBND)
                 if i.document_id == doc2]
        assert "15" in codes, codes
        assert receipt.deliveries


def test_recall_after_delivery_reaches_the_recipient(tmp_path: Path) -> None:
    with federation(tmp_path) as f:
        doc_id, raw = f.ls.document(UBND, (NA_UBND,), 7)
        f.ls.node.exchange.submit(raw)
        f.step()
        [item] = f.na.node.exchange.inbox(NA_UBND)
        f.na.node.exchange.take(NA_UBND, item.delivery_id)
        f.ls.node.exchange.submit(f.ls.recall_document(UBND, (NA_UBND,), doc_id, 8))
        f.step()
        # Taken already: the recall is delivered to the recipient, who decides (15/16).
        recalls = [i for i in f.na.node.exchange.inbox(NA_UBND) if i.document_id == doc_id]
        assert len(recalls) == 1 and recalls[0].business_type == int(BusinessType.REVOKE)


def test_national_axis_down_then_back_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with federation(tmp_path) as f:
        f.sim.kill9()
        sent = []
        for n in range(10, 16):
            doc_id, raw = f.ls.document(UBND, (NA_UBND,), n,
                                        priority=Priority.URGENT if n == 10 else
                                        Priority.NORMAL)
            f.ls.node.exchange.submit(raw)
            sent.append(doc_id)
        f.step()  # forwarding fails: retried later, nothing lost
        view = f.ls.node.peer_admin.show("national")
        assert view.backlog.waiting == 6 and view.peer.failing_since is not None
        # One call per pass while the peer fails (the rest wait for the next pass),
        # urgent first: the three passes spent three attempts.
        assert view.backlog.attempts == 3
        # Down longer than its bound: /readyz would say degraded.
        f.ls.clock.advance(timedelta(seconds=view.peer.unreachable_after_s + 1))
        assert f.ls.node.peer_admin.show("national").unreachable
        f.sim.start()
        f.ls.clock.advance(timedelta(hours=1))  # past every back-off
        f.step()
        got = sorted(i.document_id for i in f.na.node.exchange.inbox(NA_UBND))
        assert got == sorted(sent)  # each once
        after = f.ls.node.peer_admin.show("national")
        assert after.backlog.waiting == 0 and not after.unreachable
        assert after.peer.failing_since is None


def test_dead_letter_then_resend_with_the_same_key(tmp_path: Path) -> None:
    with federation(tmp_path) as f:
        f.sim.kill9()
        doc_id, raw = f.ls.document(UBND, (NA_UBND,), 20)
        [copy] = f.ls.node.exchange.submit(raw).deliveries
        budget = f.ls.node.settings.federation.max_attempts
        for _ in range(budget):
            f.ls.clock.advance(timedelta(hours=1))
            f.step(1)
        with f.ls.node.store.reading() as tx:
            d = tx.get_delivery(copy.delivery_id)
        assert d is not None and d.state is DeliveryState.FAILED
        assert f.ls.node.peer_admin.show("national").backlog.dead_letters == 1
        f.sim.start()
        assert f.ls.node.peer_admin.resend("national", actor="test", reason="axis back") \
            == [copy.delivery_id]
        f.step()
        assert [i.document_id for i in f.na.node.exchange.inbox(NA_UBND)] == [doc_id]


def test_forwarded_copies_reconciled_with_the_sent_list(tmp_path: Path) -> None:
    """getSentEdocList: a forwarded copy the national axis lists is confirmed; one it
    cannot deliver (no center serves the recipient) is reported, journaled, not resent."""
    with federation(tmp_path) as f:
        orphan = "000.00.00.H14"  # served by no center at the national axis
        if f.ls.node.registry.find(orphan) is None:
            f.ls.node.registry.add(external_agency(orphan), actor="test",
                                   reason="no center")
        _, raw = f.ls.document(UBND, (NA_UBND, orphan), 30)
        receipt = f.ls.node.exchange.submit(raw)
        f.step()
        national = f.ls.node.peers.get("national")
        assert national is not None
        report = SentReconciler(
            exchange=f.ls.node.exchange, peers=f.ls.node.peers, link=f.ls.node.peer_link,
            agencies=f.ls.node.registry.list, clock=f.ls.clock).reconcile(national)
        by_recipient = {d.recipient_id: d.delivery_id for d in receipt.deliveries}
        assert report.checked == 2 and report.confirmed == 1
        assert report.undeliverable == (by_recipient[orphan],) and report.missing == ()
        [entry] = [e for e in f.ls.node.store.journal() if e.kind == "peer.sent_reconciled"]
        assert entry.payload["undeliverable_ids"] == [by_recipient[orphan]]


def test_routing_by_province_code_to_a_peer(tmp_path: Path) -> None:
    """A recipient Lạng Sơn's registry does not list, of a province a peer claims: it is
    registered as served by that peer and the document goes there; its answer comes back
    (the sender resolved the same way at the other end is known by then)."""
    newcomer = "000.00.07.H41"
    with federation(tmp_path) as f, direct(f, tmp_path):
        f.na.node.registry.add(Agency(agency_id=newcomer, short_id="H41.07",
                                      name="Sở Tư pháp Nghệ An", parent_id=NA_UBND),
                               actor="test", reason="a new department")
        peer = f.ls.node.peers.get("h41")
        assert peer is not None and f.ls.node.registry.find(newcomer) is None
        f.ls.node.peers.update(replace(peer, provinces=("H41",)))
        doc_id, raw = f.ls.document(UBND, (newcomer,), 40)
        [copy] = f.ls.node.exchange.submit(raw).deliveries
        known = f.ls.node.registry.find(newcomer)
        assert known is not None and known.served_by == "h41"
        assert known.kind is AgencyKind.EXTERNAL
        history = f.ls.node.registry.history(newcomer)
        assert history[0].actor == "routing:h41" and "H41" in history[0].reason
        f.step()
        [item] = f.na.node.exchange.inbox(newcomer)
        f.na.node.exchange.take(newcomer, item.delivery_id)
        f.step()
        assert [i.status_code for i in f.ls.node.exchange.inbox(UBND)
                if i.document_id == doc_id] == ["01"]
        assert copy.delivery_id
        # A province nobody claims is still refused.
        _, raw2 = f.ls.document(UBND, ("000.00.00.H99",), 41)
        with pytest.raises(AxisError, match=r"route\.unknown_agency"):
            f.ls.node.exchange.submit(raw2)
