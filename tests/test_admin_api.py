"""The admin and operator API through a real server on 127.0.0.1: deny by default, roles,
registry changes with who and why (Art. 22), credentials shown once and cut off at once,
certificate binding from a PEM, dead-letter requeue."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from admin_support import (
    ADMIN_NAME,
    ADMIN_TOKEN,
    OPERATOR_NAME,
    OPERATOR_TOKEN,
    bearer,
    serve,
    start,
)
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from exchange_support import NOI_VU, TAI_CHINH, TestNode

from adapters.cli import main as cli_main
from adapters.rest.app import create_app
from axis.auth import keys, signing
from axis.auth.roles import ROLES
from axis.errors import AxisError
from axis.registry import credentials
from axis.settings import load_settings

NEW_AGENCY = {"agency_id": "000.00.25.H37", "name": "Sở Thử nghiệm tỉnh Lạng Sơn",
              "parent_id": "000.00.00.H37", "delivery_mode": "pull"}
ADMIN, OPERATOR = bearer(ADMIN_TOKEN), bearer(OPERATOR_TOKEN)



@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs)
    yield node
    node.node.close()


@pytest.fixture()
def api(t: TestNode) -> Iterator[httpx.Client]:
    with serve(t) as client:
        yield client


def admin_routes(t: TestNode) -> list[tuple[str, str]]:
    """Every admin operation, from the published OpenAPI (each must name its role)."""
    schema = create_app(t.node.settings, t.node, t.clock).openapi()
    out = []
    for path, ops in schema["paths"].items():
        if path.startswith("/admin/"):
            for method, op in ops.items():
                assert set(op["x-axis-role"].split()) <= set(ROLES), (method, path)
                out.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return out


def test_every_admin_route_denies_without_a_valid_admin_token(
    t: TestNode, api: httpx.Client
) -> None:
    routes = admin_routes(t)
    assert len(routes) >= 15
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN},
                        {"X-Axis-System-Id": "x", "X-Axis-Timestamp": "1",
                         "X-Axis-Signature": "0" * 64}):
            # An invalid body too: authentication comes before the body is even read.
            r = api.request(method, path, headers=headers, content=b"{not json")
            assert r.status_code == 401, (method, path, r.text)
            body = r.json()
            assert body["code"] == "auth.admin_required" and body["error_id"]
            assert body["message_vi"] and body["message_en"]
            assert r.headers["www-authenticate"].startswith("Bearer")


# What an operator may change (axis/auth/roles.py): notices and resends, nothing else.
OPERATOR_WRITES = {"/admin/v1/notices", "/admin/v1/deliveries/x/requeue",
                   "/admin/v1/peers/x/resend"}


def test_operator_reads_but_every_other_change_needs_another_role(
    t: TestNode, api: httpx.Client
) -> None:
    assert api.get("/admin/v1/whoami", headers=OPERATOR).json() == {
        "name": OPERATOR_NAME, "role": "operator"}
    assert api.get("/admin/v1/agencies", headers=OPERATOR).json()["count"] == 64
    writes = [(m, p) for m, p in admin_routes(t) if m != "GET" and p not in OPERATOR_WRITES]
    assert writes
    for method, path in writes:
        r = api.request(method, path, headers=OPERATOR, json={"reason": "thử"})
        assert r.status_code == 403, (method, path)
        assert r.json()["code"] == "auth.admin_forbidden"
    assert t.node.registry.find("000.00.25.H37") is None


def test_agency_lifecycle_with_history_naming_actor_and_reason(api: httpx.Client) -> None:
    r = api.post("/admin/v1/agencies", headers=ADMIN,
                 json={"agency": NEW_AGENCY, "reason": "Quyết định 12/QĐ-UBND"})
    assert r.status_code == 201, r.text
    assert r.json()["agency"]["short_id"] == "H37.25"
    r = api.patch("/admin/v1/agencies/H37.25", headers=ADMIN, json={
        "changes": {"contact_email": "vanthu@sotn.langson.example"}, "reason": "công văn 3"})
    assert r.status_code == 200 and r.json()["agency"]["contact_email"].startswith("vanthu")
    for action, state in (("suspend", "suspended"), ("reactivate", "active"),
                          ("retire", "retired")):
        r = api.post(f"/admin/v1/agencies/000.00.25.H37/{action}", headers=ADMIN,
                     json={"reason": f"{action} theo đề nghị"})
        assert r.status_code == 200 and r.json()["agency"]["state"] == state
    got = api.get("/admin/v1/agencies/000.00.25.H37", headers=OPERATOR).json()
    assert [h["action"] for h in got["history"]] == [
        "add", "update", "suspend", "reactivate", "retire"]
    assert {h["actor"] for h in got["history"]} == {ADMIN_NAME}
    assert got["history"][0]["reason"] == "Quyết định 12/QĐ-UBND"
    assert got["history"][0]["at"].endswith("+07:00")
    # Retired is final; a reason is always required; state changes have their own routes.
    r = api.post("/admin/v1/agencies/000.00.25.H37/reactivate", headers=ADMIN,
                 json={"reason": "thử lại"})
    assert (r.status_code, r.json()["code"]) == (409, "registry.invalid_transition")
    r = api.post(f"/admin/v1/agencies/{NOI_VU}/suspend", headers=ADMIN, json={})
    assert (r.status_code, r.json()["code"]) == (422, "api.invalid_request")
    r = api.patch(f"/admin/v1/agencies/{NOI_VU}", headers=ADMIN,
                  json={"changes": {"state": "suspended"}, "reason": "x"})
    assert (r.status_code, r.json()["code"]) == (400, "registry.invalid_agency")
    r = api.get("/admin/v1/agencies/000.00.99.H37", headers=OPERATOR)
    assert (r.status_code, r.json()["code"]) == (404, "registry.unknown_agency")
    r = api.post("/admin/v1/agencies", headers=ADMIN,
                 json={"agency": NEW_AGENCY, "reason": "lần hai"})
    assert (r.status_code, r.json()["code"]) == (409, "registry.duplicate_agency")
    listed = api.get("/admin/v1/agencies?state=retired", headers=OPERATOR).json()
    assert [a["agency_id"] for a in listed["agencies"]] == ["000.00.25.H37"]


def test_credential_shown_once_authenticates_then_is_cut_off(
    t: TestNode, api: httpx.Client
) -> None:
    r = api.post(f"/admin/v1/agencies/{NOI_VU}/credentials", headers=ADMIN,
                 json={"reason": "kết nối QLVB Sở Nội vụ", "system_id": "snv-qlvb"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    issued = r.json()
    sid, secret = issued["system_id"], issued["secret"]
    # The agency API re-derives the secret from the master key: it must be that one.
    assert secret == signing.derive_secret(keys.master_key(t.node.settings), sid)
    assert t.node.registry.authenticate(sid, secret).agency_id == NOI_VU
    listed = api.get(f"/admin/v1/agencies/{NOI_VU}/credentials", headers=OPERATOR).text
    assert secret not in listed and credentials.hash_secret(secret) not in listed
    assert "secret" not in json.loads(listed)["credentials"][0]

    r = api.post(f"/admin/v1/credentials/{sid}/revoke", headers=ADMIN,
                 json={"reason": "lộ mật khẩu (Điều 22)"})
    assert r.status_code == 200 and r.json()["revoked_at"].endswith("+07:00")
    with pytest.raises(AxisError) as exc:
        t.node.registry.authenticate(sid, secret)
    assert exc.value.code.id == "registry.credential_invalid"
    r = api.post(f"/admin/v1/credentials/{sid}/revoke", headers=ADMIN, json={"reason": "x"})
    assert (r.status_code, r.json()["code"]) == (409, "registry.invalid_transition")
    r = api.post("/admin/v1/credentials/nobody/revoke", headers=ADMIN, json={"reason": "x"})
    assert (r.status_code, r.json()["code"]) == (404, "registry.unknown_credential")
    actions = [h["action"] for h in api.get(f"/admin/v1/agencies/{NOI_VU}",
                                            headers=OPERATOR).json()["history"]]
    assert actions[-2:] == ["issue-credential", "revoke-credential"]


def test_certificate_bound_from_pem_by_its_sha256(
    t: TestNode, api: httpx.Client, pki_dirs: tuple[Path, Path]
) -> None:
    pem = (pki_dirs[0] / f"{NOI_VU}.pem").read_text()
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    fp = hashlib.sha256(der).hexdigest()
    r = api.post(f"/admin/v1/agencies/{NOI_VU}/certificates", headers=ADMIN,
                 json={"pem": pem, "reason": "chứng thư số mới"})
    assert r.status_code == 200, r.text
    assert r.json()["fingerprint"] == fp and fp in r.json()["agency"]["certificates"]
    assert t.node.registry.agency_for_certificate(fp).agency_id == NOI_VU  # type: ignore[union-attr]
    r = api.post(f"/admin/v1/agencies/{TAI_CHINH}/certificates", headers=ADMIN,
                 json={"pem": pem, "reason": "nhầm"})
    assert (r.status_code, r.json()["code"]) == (409, "registry.certificate_bound")
    r = api.post(f"/admin/v1/agencies/{TAI_CHINH}/certificates", headers=ADMIN,
                 json={"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                       "reason": "hỏng"})
    assert (r.status_code, r.json()["code"]) == (400, "registry.invalid_certificate")
    r = api.post(f"/admin/v1/agencies/{NOI_VU}/certificates/{fp.upper()}/unbind",
                 headers=ADMIN, json={"reason": "thay khóa"})
    assert r.status_code == 200 and r.json()["agency"]["certificates"] == []
    assert t.node.registry.agency_for_certificate(fp) is None


def test_delivery_read_and_requeue_refuses_what_is_not_a_dead_letter(
    t: TestNode, api: httpx.Client
) -> None:
    _, raw = t.document("000.00.00.H37", (NOI_VU,), 7)
    delivery_id = t.node.exchange.submit(raw).deliveries[0].delivery_id
    got = api.get(f"/admin/v1/deliveries/{delivery_id}", headers=OPERATOR).json()
    # The server's delivery worker may already have moved it into the inbox.
    assert got["state"] in ("queued", "available") and got["recipient_id"] == NOI_VU
    assert got["trail"][0]["event"] == "received" and got["push_attempts"] == 0
    r = api.post(f"/admin/v1/deliveries/{delivery_id}/requeue", headers=ADMIN,
                 json={"reason": "thử"})
    assert (r.status_code, r.json()["code"]) == (422, "api.invalid_request")
    r = api.get("/admin/v1/deliveries/nope", headers=OPERATOR)
    assert (r.status_code, r.json()["code"]) == (404, "route.delivery_unknown")


def test_tokens_come_from_the_environment_and_the_cli_prints_a_matching_hash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli_main(["admin", "token", "--name", "nguyen.van.a", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    token = re.search(r"shown only now\): (axa_\S+)", out).group(1)  # type: ignore[union-attr]
    digest = re.search(r'hash = "(sha256:[0-9a-f]{64})"', out).group(1)  # type: ignore[union-attr]
    assert credentials.hash_secret(token) == digest
    env = re.search(r"AXIS_ADMIN__TOKENS='(.*)'", out).group(1)  # type: ignore[union-attr]
    monkeypatch.setenv("AXIS_ADMIN__TOKENS", env)
    settings = load_settings()
    assert [(e.name, e.role, e.hash) for e in settings.admin.tokens] == [
        ("nguyen.van.a", "admin", digest)]
