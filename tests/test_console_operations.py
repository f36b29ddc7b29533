"""The console's Operations page (issue 11, item 5): an operator sees the diagnostics
(readiness as /readyz computes it, broker and database, jobs, peers), the dead letters of
push and of forwarding to a peer and resends each with a reason (journaled `resend`, the
copy back in its queue through its own channel), and sends a maintenance notice to every
active agency (Art. 21.3). Viewers and auditors get the 403 page, POSTs included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import ADMIN_TOKEN, OPERATOR_NAME, bearer, serve, settle, start
from console_support import api_login, csrf_of, login, shot
from exchange_support import NOI_VU, UBND, TestNode
from test_peer_admin import EXTERNAL, add_body

from axis.registry.model import AgencyKind, AgencyState
from axis.route.model import DeliveryState
from axis.settings import FederationSettings


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs, federation=FederationSettings(
        require_https=False, max_attempts=2, base_delay_seconds=1, max_delay_seconds=1))
    yield node
    node.node.close()


@pytest.fixture()
def api(t: TestNode) -> Iterator[httpx.Client]:
    with serve(t) as client:
        yield client


def _state(t: TestNode, delivery_id: str) -> DeliveryState:
    with t.node.store.reading() as tx:
        d = tx.get_delivery(delivery_id)
    assert d is not None
    return d.state


def _dead_letters(t: TestNode, api: httpx.Client, tmp_path: Path) -> tuple[str, str]:
    """One push dead letter (the channel gave up on NOI_VU's copy) and one of a peer
    (forwarding to a closed port failed twice)."""
    [push] = t.node.exchange.submit(t.document(UBND, (NOI_VU,), 1)[1]).deliveries
    t.deliver_all()
    assert t.node.pusher.dead_letter(push.delivery_id, attempts=8,
                                     last_error="HTTP 503 Service Unavailable")
    r = api.post("/admin/v1/peers", json=add_body(tmp_path), headers=bearer(ADMIN_TOKEN))
    assert r.status_code == 201, r.text
    [peer] = t.node.exchange.submit(t.document(UBND, (EXTERNAL,), 2)[1]).deliveries
    t.deliver_all()
    for _ in range(2):
        t.node.channels.run_once()
        t.clock.advance(timedelta(seconds=5))
    assert _state(t, peer.delivery_id) is DeliveryState.FAILED
    return push.delivery_id, peer.delivery_id


def _journal(t: TestNode, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e.subject, e.payload) for e in t.node.store.journal() if e.kind == kind]


def test_operator_sees_diagnostics_and_resends_dead_letters_with_a_reason(
    t: TestNode, api: httpx.Client, page: Any, tmp_path: Path
) -> None:
    push_id, peer_id = _dead_letters(t, api, tmp_path)
    base = str(api.base_url)
    login(page, base, "operator", purpose="Ca trực 30/11")
    page.get_by_test_id("nav-operations").click()
    assert page.get_by_test_id("readiness").inner_text() == "Bình thường"
    assert page.get_by_test_id("check-database").inner_text() == "Đạt"
    assert page.get_by_test_id("check-broker").inner_text() == "Đạt"
    assert page.get_by_test_id("job-row").count() >= 1
    assert page.get_by_test_id("peer-row").all_inner_texts()[0].startswith("national")
    assert page.get_by_test_id("dead-total").inner_text() == "2"
    assert set(page.get_by_test_id("dead-id").all_inner_texts()) == {push_id, peer_id}
    details = page.get_by_test_id("dead-detail").all_inner_texts()
    assert any(d.startswith("push: 8 attempts; HTTP 503") for d in details)
    assert any(d.startswith("peer:") for d in details)
    shot(page, "operations")

    for delivery_id, channel in ((push_id, "push"), (peer_id, "national")):
        row = page.get_by_test_id("dead-row").filter(has_text=delivery_id)
        row.get_by_test_id("resend-reason").fill(f"Đơn vị đã khắc phục ({channel})")
        row.get_by_test_id("resend").click()
        assert delivery_id in page.get_by_test_id("resent").inner_text()
        assert channel in page.get_by_test_id("resent").inner_text()
        assert _state(t, delivery_id) is not DeliveryState.FAILED
    assert page.get_by_test_id("dead-total").inner_text() == "0"
    resends = _journal(t, "access.resend")
    assert [(s, p["actor"], p["reason"]) for s, p in resends] == [
        (push_id, OPERATOR_NAME, "Đơn vị đã khắc phục (push)"),
        (peer_id, OPERATOR_NAME, "Đơn vị đã khắc phục (national)")]
    requeued = {s for s, _ in _journal(t, "delivery.requeued")}
    assert {push_id, peer_id} <= requeued
    [(_, peer_resend)] = _journal(t, "peer.resend")
    assert peer_resend["deliveries"] == [peer_id] and peer_resend["actor"] == OPERATOR_NAME


def test_operator_sends_a_maintenance_notice_to_every_active_agency(
    t: TestNode, api: httpx.Client, page: Any
) -> None:
    login(page, str(api.base_url), "operator")
    page.get_by_test_id("nav-operations").click()
    page.get_by_test_id("notice-number").fill("15")
    page.get_by_test_id("notice-starts").fill("2026-11-28T22:00")
    page.get_by_test_id("notice-ends").fill("2026-11-29T02:00")
    page.get_by_test_id("notice-subject_vi").fill("Bảo trì trục liên thông")
    page.get_by_test_id("notice-subject_en").fill("Axis maintenance")
    page.get_by_test_id("notice-text_vi").fill("Trục tạm dừng để bảo trì.")
    page.get_by_test_id("notice-text_en").fill("The axis stops for maintenance.")
    page.get_by_test_id("notice-urgent").select_option("on")
    page.get_by_test_id("notice-reason").fill("Kế hoạch bảo trì quý IV")
    page.get_by_test_id("notice-send").click()
    text = page.get_by_test_id("message").inner_text()
    [(_, sent)] = _journal(t, "notice.broadcast")
    to = len(t.node.registry.list(state=AgencyState.ACTIVE, kind=AgencyKind.INTERNAL))
    assert sent["recipients"] == to and sent["actor"] == OPERATOR_NAME
    assert sent["reason"] == "Kế hoạch bảo trì quý IV"
    assert f"{sent['document_id']} đã vào hộp thư của {to} cơ quan" in text
    [(target, change)] = _journal(t, "access.change")  # journaled before it ran
    assert target == "notices" and change["reason"] == "Kế hoạch bảo trì quý IV"
    assert change["actor"] == OPERATOR_NAME
    settle(t)
    with t.node.store.reading() as tx:
        [copy] = tx.list_inbox([NOI_VU], limit=10)
    assert copy.document_id == sent["document_id"]


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_reading_roles_get_the_403_page_and_cannot_resend_or_send(
    t: TestNode, api: httpx.Client, tmp_path: Path, role: str
) -> None:
    push_id, _ = _dead_letters(t, api, tmp_path)
    api_login(api, role)
    shown = api.get("/console/operations")
    assert shown.status_code == 403 and 'data-testid="message"' in shown.text
    csrf = csrf_of(shown.text)
    r = api.post(f"/console/operations/dead/{push_id}/resend",
                 data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 403
    r = api.post("/console/operations/notices", data={
        "csrf": csrf, "reason": "x", "number": "1", "subject_vi": "a", "subject_en": "a",
        "text_vi": "a", "text_en": "a"})
    assert r.status_code == 403
    assert _state(t, push_id) is DeliveryState.FAILED
    assert not _journal(t, "access.resend") and not _journal(t, "notice.broadcast")
    assert not [c for _, c in _journal(t, "access.change") if c["channel"] == "console"]


def test_a_resend_needs_a_reason_and_a_dead_letter(
    t: TestNode, api: httpx.Client, tmp_path: Path
) -> None:
    push_id, _ = _dead_letters(t, api, tmp_path)
    api_login(api, "operator")
    csrf = csrf_of(api.get("/console/operations").text)
    r = api.post(f"/console/operations/dead/{push_id}/resend", data={"csrf": csrf})
    assert r.status_code == 400 and _state(t, push_id) is DeliveryState.FAILED
    r = api.post("/console/operations/dead/t-999999/resend",
                 data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 404
