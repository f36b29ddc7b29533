"""The console's Registry page (issue 11, item 5): a viewer searches (either identifier
form, name), filters by state and pages, opens an agency with its history, and sees no
action; a registry admin adds an agency, suspends it with a reason (in the history and
the journal), reactivates it, binds a certificate, issues a credential whose secret is
shown once and revokes it, through the registry's own operations. A POST by a viewer,
an auditor or an operator is refused with the 403 page."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import serve, start
from console_support import api_login, csrf_of, login, shot
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from exchange_support import NOI_VU, TAI_CHINH, TestNode

from axis.auth import keys, signing
from axis.registry.model import AgencyState

NEW_ID = "000.00.25.H37"


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs)
    yield node
    node.node.close()


@pytest.fixture()
def api(t: TestNode) -> Iterator[httpx.Client]:
    with serve(t) as client:
        yield client


def _journal(t: TestNode, prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e.kind, e.subject, e.payload) for e in t.node.store.journal()
            if e.kind.startswith(prefix)]


def test_viewer_searches_pages_and_reads_an_agency_without_actions(
    t: TestNode, api: httpx.Client, page: Any
) -> None:
    base = str(api.base_url)
    login(page, base, "viewer")
    page.get_by_test_id("nav-registry").click()
    total = len(t.node.registry.list())
    assert int(page.get_by_test_id("registry-total").inner_text()) == total > 50
    assert page.get_by_test_id("agency-row").count() == 50
    page.get_by_test_id("registry-next").click()
    assert page.get_by_test_id("agency-row").count() == total - 50
    assert page.get_by_test_id("add-agency").count() == 0
    # Either identifier form, or the name.
    for q in ("H37.02", NOI_VU, "Sở Nội vụ tỉnh"):
        page.get_by_test_id("registry-q").fill(q)
        page.get_by_test_id("registry-apply").click()
        assert page.get_by_test_id("agency-link").all_inner_texts() == [NOI_VU], q
    t.node.registry.suspend(TAI_CHINH, actor="test", reason="thử")
    page.get_by_test_id("registry-q").fill("")
    page.get_by_test_id("registry-state").select_option("suspended")
    page.get_by_test_id("registry-apply").click()
    assert page.get_by_test_id("agency-link").all_inner_texts() == [TAI_CHINH]
    page.get_by_test_id("agency-link").click()
    assert page.get_by_test_id("agency-state").inner_text() == "Tạm dừng"
    assert page.get_by_test_id("history-action").all_inner_texts()[0] == "suspend"
    assert page.get_by_test_id("agency-actions").count() == 0
    searches = _journal(t, "access.search")
    assert searches and all(p["actor"] == "test.viewer" for _, _, p in searches)
    assert searches[-1][2]["detail"]["state"] == "suspended"
    assert ("access.view", f"/console/registry/agency/{TAI_CHINH}") in [
        (k, s) for k, s, _ in _journal(t, "access.view")]


def test_registry_admin_changes_each_with_a_reason_in_history_and_journal(
    t: TestNode, api: httpx.Client, page: Any, pki_dirs: tuple[Path, Path]
) -> None:
    base = str(api.base_url)
    login(page, base, "registry_admin", purpose="Phiếu yêu cầu 45")
    page.goto(f"{base}/console/registry")
    page.get_by_test_id("add-agency_id").fill(NEW_ID)
    page.get_by_test_id("add-name").fill("Sở Thử nghiệm tỉnh Lạng Sơn")
    page.get_by_test_id("add-parent_id").fill("000.00.00.H37")
    page.get_by_test_id("add-reason").fill("Quyết định 12/QĐ-UBND")
    page.get_by_test_id("add-submit").click()
    assert page.get_by_test_id("agency-id").inner_text() == NEW_ID
    assert t.node.registry.find("H37.25") is not None

    page.get_by_test_id("suspend-reason").fill("Đơn vị đề nghị tạm dừng (CV 7)")
    page.get_by_test_id("suspend").click()
    assert page.get_by_test_id("agency-state").inner_text() == "Tạm dừng"
    assert t.node.registry.resolve(NEW_ID).state is AgencyState.SUSPENDED
    assert page.get_by_test_id("history-why").all_inner_texts()[0] == (
        "Đơn vị đề nghị tạm dừng (CV 7)")
    assert page.get_by_test_id("history-who").all_inner_texts()[0] == "test.registry_admin"
    # In the chain: the console's access.change before it, the registry's own entry.
    changes = [(s, p["reason"], p["detail"]["change"])
               for _, s, p in _journal(t, "access.change")]
    assert (f"/console/registry/agency/{NEW_ID}", "Đơn vị đề nghị tạm dừng (CV 7)",
            "suspend") in changes
    [suspended] = [p for k, s, p in _journal(t, "registry.") if k == "registry.suspend"]
    assert suspended["actor"] == "test.registry_admin"
    shot(page, "registry-agency")

    page.get_by_test_id("reactivate-reason").fill("Khôi phục")
    page.get_by_test_id("reactivate").click()
    assert page.get_by_test_id("agency-state").inner_text() == "Đang hoạt động"

    pem = (pki_dirs[0] / f"{NOI_VU}.pem").read_text()
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    page.goto(f"{base}/console/registry/agency/{NOI_VU}")
    page.get_by_test_id("bind-pem").fill(pem)
    page.get_by_test_id("bind-reason").fill("chứng thư số mới")
    page.get_by_test_id("bind").click()
    assert page.get_by_test_id("certificate").all_inner_texts() == [
        hashlib.sha256(der).hexdigest()]

    page.get_by_test_id("issue-reason").fill("kết nối QLVB")
    page.get_by_test_id("issue").click()
    sid = page.get_by_test_id("issued-system-id").inner_text()
    secret = page.get_by_test_id("issued-secret").inner_text()
    assert secret == signing.derive_secret(keys.master_key(t.node.settings), sid)
    assert t.node.registry.authenticate(sid, secret).agency_id == NOI_VU
    page.get_by_test_id("issued-back").click()
    assert secret not in page.content()  # never again
    page.get_by_test_id("revoke-reason").fill("lộ mật khẩu (Điều 22)")
    page.get_by_test_id("revoke").click()
    assert page.get_by_test_id("credential-revoked").inner_text().endswith("+07:00")
    assert page.get_by_test_id("history-action").all_inner_texts()[:3] == [
        "revoke-credential", "issue-credential", "bind-certificate"]
    shot(page, "registry")  # overwritten below by the list
    page.goto(f"{base}/console/registry?q=H37.2")
    shot(page, "registry")


def test_a_change_without_a_reason_or_from_a_reading_role_is_refused(
    t: TestNode, api: httpx.Client
) -> None:
    api_login(api, "registry_admin")
    csrf = csrf_of(api.get(f"/console/registry/agency/{NOI_VU}").text)
    r = api.post(f"/console/registry/agency/{NOI_VU}/suspend", data={"csrf": csrf})
    assert r.status_code == 400
    r = api.post(f"/console/registry/agency/{NOI_VU}/suspend",
                 data={"csrf": "forged", "reason": "x"})
    assert r.status_code == 403
    assert t.node.registry.resolve(NOI_VU).state is AgencyState.ACTIVE
    for role in ("viewer", "auditor", "operator"):
        api_login(api, role)
        shown = api.get(f"/console/registry/agency/{NOI_VU}").text
        assert 'data-testid="agency-actions"' not in shown
        mine = csrf_of(shown)
        for path in (f"/agency/{NOI_VU}/suspend", f"/agency/{NOI_VU}/credentials", "/add"):
            r = api.post(f"/console/registry{path}", data={"csrf": mine, "reason": "x",
                                                            "agency_id": NEW_ID, "name": "x"})
            assert r.status_code == 403 and 'data-testid="message"' in r.text, (role, path)
    assert t.node.registry.resolve(NOI_VU).state is AgencyState.ACTIVE
    assert t.node.registry.find(NEW_ID) is None and not t.node.registry.credentials(NOI_VU)
    assert not _journal(t, "access.change")
