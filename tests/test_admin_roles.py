"""Roles, deny by default (axis/auth/roles.py), and the access journal (issue 11, item 4):
every admin route admits exactly the roles whose capabilities it names, checked against
the live API for every role; and every admitted request leaves an `access.*` journal
entry naming who, with which role, and why — before the route runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from admin_support import ADMIN_TOKEN, OPERATOR_TOKEN, ROLE_TOKENS, bearer, serve, start
from exchange_support import TestNode

from adapters.rest.app import create_app
from axis.auth.roles import ROLES, Administrator

TOKENS = {"admin": ADMIN_TOKEN, "operator": OPERATOR_TOKEN, **ROLE_TOKENS}


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs)
    yield node
    node.node.close()


@pytest.fixture()
def api(t: TestNode) -> Iterator[httpx.Client]:
    with serve(t) as client:
        yield client


def routes(t: TestNode) -> list[tuple[str, str, tuple[str, ...]]]:
    schema = create_app(t.node.settings, t.node, t.clock).openapi()
    return [(m.upper(), re.sub(r"\{[^}]+\}", "x", path), tuple(op["x-axis-role"].split()))
            for path, ops in schema["paths"].items() if path.startswith("/admin/")
            for m, op in ops.items()]


def test_every_route_admits_exactly_the_roles_it_names(t: TestNode, api: httpx.Client) -> None:
    found = routes(t)
    assert len(found) > 20
    for method, path, needs in found:
        for r in ROLES:
            resp = api.request(method, path, headers=bearer(TOKENS[r]), json={"reason": "x"})
            forbidden = resp.status_code == 403 and resp.json()["code"] == "auth.admin_forbidden"
            assert forbidden is (not Administrator("x", r).may(*needs)), (r, method, path)


def test_a_viewer_reaches_no_change_at_all(t: TestNode, api: httpx.Client) -> None:
    viewer = bearer(ROLE_TOKENS["viewer"])
    assert api.get("/admin/v1/agencies", headers=viewer).status_code == 200
    for method, path, _ in routes(t):
        if method != "GET":
            r = api.request(method, path, headers=viewer, json={"reason": "x"})
            assert r.status_code == 403, (method, path)
    auditor = bearer(ROLE_TOKENS["auditor"])
    r = api.post("/admin/v1/agencies/000.00.01.H37/suspend", headers=auditor,
                 json={"reason": "x"})
    assert r.status_code == 403


def test_every_access_is_journaled_with_who_role_and_why(
    t: TestNode, api: httpx.Client
) -> None:
    before = list(t.node.store.journal())
    r = api.get("/admin/v1/agencies", params={"state": "active"},
                headers={**bearer(ROLE_TOKENS["auditor"]),
                         "X-Axis-Reason": quote("Thanh tra số 12/QĐ-TTr")})
    assert r.status_code == 200
    r = api.get("/admin/v1/agencies/000.00.01.H37", headers=bearer(ROLE_TOKENS["viewer"]))
    assert r.status_code == 200
    new = [e for e in list(t.node.store.journal()) if e not in before]
    access = [e for e in new if e.kind.startswith("access.")]
    assert [(e.kind, e.subject) for e in access] == [
        ("access.search", "/admin/v1/agencies"),
        ("access.view", "/admin/v1/agencies/000.00.01.H37")]
    assert access[0].payload == {"actor": "test.auditor", "role": "auditor", "channel": "api",
                                 "reason": "Thanh tra số 12/QĐ-TTr",
                                 "detail": {"method": "GET", "query": "state=active"}}
    assert access[1].payload["actor"] == "test.viewer"


def test_a_refused_caller_leaves_no_access_entry(t: TestNode, api: httpx.Client) -> None:
    before = len(list(t.node.store.journal()))
    assert api.get("/admin/v1/agencies", headers=bearer("axa_wrong")).status_code == 401
    assert api.post("/admin/v1/agencies/000.00.01.H37/suspend",
                    headers=bearer(ROLE_TOKENS["viewer"]), json={"reason": "x"}
                    ).status_code == 403
    assert len(list(t.node.store.journal())) == before


def test_a_query_parameter_given_twice_is_refused_before_anything_runs(
    t: TestNode, api: httpx.Client
) -> None:
    before = len(list(t.node.store.journal()))
    r = api.get("/admin/v1/tasks?agency=000.00.02.H37&agency=000.00.03.H37",
                headers=bearer(ROLE_TOKENS["viewer"]))
    assert r.status_code == 422 and r.json()["code"] == "api.duplicate_parameter"
    assert len(list(t.node.store.journal())) == before  # nothing journaled, nothing read
