"""Schemathesis against the published /openapi.json of a real uvicorn server on
127.0.0.1: generated requests (valid and invalid) to every operation, the agency API's
signed like an agency system's and the admin API's with an administrator token, must
never get a 5xx nor a response that breaks the schema.

Bounded (60 examples per operation and mode) so that it runs within `make test`; the
figures per operation are printed with -s.
Deny-by-default is not left to schemathesis' `ignored_auth` check (its probes would go
through the signing session): tests/test_rest_refusals.py sends every operation unsigned.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from admin_support import ADMIN_TOKEN, start
from exchange_support import KE_HOACH, NOI_VU, TAI_CHINH, UBND
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_support import RestNode, serve
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as oas

from axis.auth import signing
from axis.settings import RestSettings

HEADERS = (signing.SYSTEM_ID_HEADER, signing.TIMESTAMP_HEADER, signing.SIGNATURE_HEADER)
# Per operation and mode. `make test` runs a fixed, reproducible set; a deeper random hunt:
# AXIS_SCHEMATHESIS_EXAMPLES=300 AXIS_SCHEMATHESIS_RANDOM=1 pytest tests/test_rest_schemathesis.py
EXAMPLES = int(os.environ.get("AXIS_SCHEMATHESIS_EXAMPLES", "60"))
RANDOM = os.environ.get("AXIS_SCHEMATHESIS_RANDOM") == "1"
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    oas.status_code_conformance,
    oas.content_type_conformance,
    oas.response_headers_conformance,
    oas.response_schema_conformance,
    oas.negative_data_rejection,
]


class SignedSession(requests.auth.AuthBase):
    """Signs each prepared request exactly as it will travel (docs/api.md)."""

    def __init__(self, rest: RestNode, agency_id: str) -> None:
        self.system_id, self.secret = rest.credential(agency_id)
        self.clock = rest.t.clock
        self.micros = 0
        self.signed = self.unsigned = self.admin = 0

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if (r.path_url or "").startswith("/admin/"):
            # The admin API: schemathesis fills the bearer header when its case carries
            # credentials (our token replaces its value) and leaves it out to test absence.
            if "authorization" in {k.lower() for k in r.headers}:
                r.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
                self.admin += 1
            return r
        # Schemathesis fills the three security headers when its case carries credentials
        # and leaves them out to test their absence: sign the first kind only.
        present = {k.lower() for k in r.headers}
        if not {h.lower() for h in HEADERS} <= present:
            self.unsigned += 1
            return r
        self.signed += 1
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        assert isinstance(body, bytes), "schemathesis sends whole bodies, never streams"
        raw = body
        self.micros = max(int(self.clock.now().timestamp() * 1e6), self.micros + 1)
        ts = f"{self.micros // 1_000_000}.{self.micros % 1_000_000:06d}"
        r.headers[signing.SYSTEM_ID_HEADER] = self.system_id
        r.headers[signing.TIMESTAMP_HEADER] = ts
        r.headers[signing.SIGNATURE_HEADER] = signing.sign_request(
            self.secret, r.method or "GET", r.path_url, ts, raw)
        return r


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory, pki_dirs: tuple[Path, Path]
         ) -> Iterator[RestNode]:
    t = start(tmp_path_factory.mktemp("node"), *pki_dirs)  # with administrator tokens
    # Generous limits: the run is about the schema, not about the rate limit.
    with serve(t, RestSettings(rate_per_minute=100_000, burst=100_000)) as r:
        ubnd = r.client(UBND)
        for n in range(3):  # something in the inboxes and trails to list
            ubnd.send(t.document(UBND, (NOI_VU, TAI_CHINH, KE_HOACH), 900 + n)[1])
        t.deliver_all()
        yield r
    t.node.close()


@pytest.fixture(scope="module")
def session(rest: RestNode) -> Iterator[requests.Session]:
    s = requests.Session()
    s.auth = SignedSession(rest, NOI_VU)
    s.statuses = collections.Counter()  # type: ignore[attr-defined]
    s.hooks["response"].append(
        lambda r, *_, **__: s.statuses.update([r.status_code]))  # type: ignore[attr-defined]
    yield s
    s.close()


@pytest.fixture(scope="module")
def api_schema(rest: RestNode) -> Any:
    return schemathesis.openapi.from_url(f"{rest.url}/openapi.json")


def operations(api_schema: Any) -> list[Any]:
    """Every operation; the admin API's last, so that what it changes (an agency
    suspended, a credential revoked) cannot starve the agency API's run."""
    ops = [result.ok() for result in api_schema.get_all_operations()]
    return sorted(ops, key=lambda op: (op.path.startswith("/admin/"), op.label))


# Driven by hand rather than with `schema.parametrize()`: schemathesis' lazy pytest loader
# reads a private attribute pytest 9 no longer has. The cases and checks are the same.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api_schema: Any, session: requests.Session,
                                    mode: GenerationMode) -> None:
    failures: dict[str, str] = {}
    figures: dict[str, collections.Counter[int]] = {}
    # Valid cases always carry the headers (the session signs them); invalid ones also
    # test their absence.
    fixed = {h: "-" for h in HEADERS} if mode is GenerationMode.POSITIVE else None
    for op in operations(api_schema):
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=mode, headers=fixed))
        def check(case: Any) -> None:
            case.call_and_validate(session=session, checks=CHECKS)

        before: collections.Counter[int] = collections.Counter(
            session.statuses)  # type: ignore[attr-defined]
        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # no parameters: nothing to get wrong
        except Exception as exc:  # collect every operation's failure, then report all
            failures[op.label] = f"{type(exc).__name__}: {exc}"[:3000]
        figures[op.label] = session.statuses - before  # type: ignore[attr-defined]
    print(f"\nschemathesis {mode.name.lower()}, {EXAMPLES} examples per operation:")
    for label, got in figures.items():
        print(f"  {label}: {sum(got.values())} requests, statuses {dict(sorted(got.items()))}")
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    # The run reached the API itself, signed, not only the authentication in front of it.
    statuses = session.statuses  # type: ignore[attr-defined]
    assert isinstance(session.auth, SignedSession) and session.auth.signed > 0
    assert statuses[200] > 0, statuses
    assert session.auth.admin > 0  # the admin API was reached with its token
    if mode is GenerationMode.POSITIVE:  # every operation, agency and admin, was called
        assert all(figures.values()), figures
    if mode is GenerationMode.NEGATIVE:  # absent credentials, and invalid parameters
        assert statuses[401] > 0 and statuses[422] > 0, statuses


def test_the_schema_is_the_one_served(api_schema: Any, rest: RestNode) -> None:
    labels = {op.ok().label for op in api_schema.get_all_operations()}
    assert "POST /v1/sendEdoc" in labels and "GET /v1/getEdoc" in labels
