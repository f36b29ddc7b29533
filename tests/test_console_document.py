"""A document's page in a real browser: its trail on one timeline (both recipients, the
node's 01, the 03), its copies and packages; an auditor downloads the original package
(the very bytes sent) and the evidence bundle (which verifies offline), each journaled;
a viewer sees metadata only and is refused the bytes, in the page and at the routes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from console_support import login, shot
from console_traffic_support import accesses, base_fixture, make_traffic, node_fixture  # noqa: F401
from exchange_support import NOI_VU, TAI_CHINH, TestNode

from axis.journal.bundle_verify import verify


def open_document(page: Any, base: str, document_id: str) -> None:
    """From the Messages page, as a person would: search by DocumentId, follow the link."""
    page.goto(f"{base}/console/messages")
    page.get_by_test_id("f-document").fill(document_id)
    page.get_by_test_id("search").click()
    page.locator("[data-testid^='open-']").first.click()
    page.wait_for_load_state()
    assert page.get_by_test_id("document-id").inner_text() == document_id


def test_an_auditor_reads_the_trail_and_downloads_the_package_and_the_bundle(
    t: TestNode, base: str, page: Any
) -> None:
    traffic = make_traffic(t)
    login(page, base, "auditor", purpose="Thanh tra 12/QĐ-TTr")
    open_document(page, base, traffic.doc_a)
    timeline = page.get_by_test_id("timeline")
    for event in ("received", "available", "delivered", "status"):
        assert timeline.get_by_test_id(f"step-{event}").count() >= 1, event
    # The 03 and the node's 01: each reported, then made available to the sender.
    assert timeline.get_by_test_id("step-status-03").count() >= 1
    assert timeline.get_by_test_id("step-status-01").count() >= 1
    text = timeline.inner_text()
    assert NOI_VU in text and TAI_CHINH in text  # every recipient on the one timeline
    copies = page.get_by_test_id("copies").inner_text()
    assert NOI_VU in copies and TAI_CHINH in copies
    shot(page, "document")

    sha = hashlib.sha256(traffic.raw_a).hexdigest()
    with page.expect_download() as info:
        page.get_by_test_id(f"download-{sha[:16]}").click()
    assert Path(info.value.path()).read_bytes() == traffic.raw_a  # the bytes as signed

    page.get_by_test_id("evidence-reason").fill("Hồ sơ thanh tra 12")
    with page.expect_download() as info:
        page.get_by_test_id("evidence-download").click()
    report = verify(Path(info.value.path()).read_bytes())
    assert report.ok, report.problems

    assert [a["target"] for a in accesses(t, "view")
            if a["target"] == traffic.doc_a] == [traffic.doc_a]
    assert [(a["target"], a["actor"]) for a in accesses(t, "download")] == [
        (sha, "test.auditor")]
    assert [(a["target"], a["reason"], a["detail"]["purpose"])
            for a in accesses(t, "export")] == [
        (traffic.doc_a, "Hồ sơ thanh tra 12", "Thanh tra 12/QĐ-TTr")]


def test_a_viewer_sees_metadata_only(t: TestNode, base: str, page: Any) -> None:
    traffic = make_traffic(t)
    login(page, base, "viewer")
    open_document(page, base, traffic.doc_a)
    assert page.get_by_test_id("metadata-only").is_visible()
    assert page.locator("[data-testid^='download-']").count() == 0
    assert page.get_by_test_id("evidence-form").count() == 0
    assert page.locator("[data-testid^='package-']").count() >= 2  # the list, no bytes
    sha = hashlib.sha256(traffic.raw_a).hexdigest()
    r = page.goto(f"{base}/console/document/package/{sha}")
    assert r.status == 403 and traffic.raw_a not in r.body()
    page.goto(f"{base}/console/document/{quote(traffic.doc_a)}")
    csrf = page.locator("form input[name=csrf]").first.get_attribute("value")
    r = page.request.post(f"{base}/console/document/evidence",
                          form={"csrf": csrf, "reason": "x", "document": traffic.doc_a})
    assert r.status == 403
    assert not accesses(t, "download") and not accesses(t, "export")


def test_an_unknown_document_is_not_found(t: TestNode, base: str, page: Any) -> None:
    login(page, base, "auditor")
    r = page.goto(f"{base}/console/document/{quote('000.00.00.H37,2026/01/01,999/X')}")
    assert r.status == 404 and page.get_by_test_id("message").is_visible()
    r = page.goto(f"{base}/console/document/package/{'0' * 64}")
    assert r.status == 404
