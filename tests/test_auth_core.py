"""The core of agency authentication: the signature contract (with the worked example of
docs/api.md), the window, key derivation and the master key file, the gate's order of
checks (on the shared replay cache and buckets of tests/test_auth_state.py), and trail
visibility."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from store_support import migrated_engine

from adapters.store.auth_state import SqlAdmission
from axis import errors
from axis.auth import keys, signing
from axis.auth.gate import Gate, RateLimited
from axis.auth.ratelimit import Bucket
from axis.auth.visibility import visible
from axis.clock import VN_TZ, FixedClock
from axis.edxml.model import Kind
from axis.errors import AxisError
from axis.registry.model import Agency
from axis.route.model import Delivery, DeliveryState, TrailEntry, TrailEvent

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=VN_TZ)  # Unix 1795485600
SECRET = "example-secret-DO-NOT-USE-0123456789abcdefgh"
UPDATE = b'{"docId":"5f0c6a9e-2a4b-4c39-9d0e-8a1f3c7b2e10","status":"done"}'


def test_worked_examples_of_the_api_doc() -> None:
    """The two examples of docs/api.md, byte for byte (also checked there with openssl)."""
    ts = "1795485600.000001"
    assert T0.timestamp() == 1795485600
    get = signing.canonical_string("get", "/v1/syncReceivedEdocList?messageType=edoc&limit=50",
                                   ts, signing.body_hash(b""))
    assert get == ("GET\n/v1/syncReceivedEdocList?messageType=edoc&limit=50\n"
                   "1795485600.000001\n"
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert signing.sign(SECRET, get) == (
        "d13a2e3c1e8cf31a79f9939ced48729a443d25d1915c8865ba87d1a1657aa1da")
    assert signing.sign_request(SECRET, "POST", "/v1/updateStatus", ts, UPDATE) == (
        "f6cace995296685807156f60840f686716ca8ebed74eab406cf6f29ba90314c1")
    canonical = signing.canonical_string("POST", "/v1/updateStatus", ts,
                                         signing.body_hash(UPDATE))
    sig = signing.sign(SECRET, canonical)
    assert signing.signature_matches(SECRET, canonical, sig.upper())  # hex, any case
    assert not signing.signature_matches(SECRET + "x", canonical, sig)


@pytest.mark.parametrize("text", ["1795485600", "1795485600.5", "1795485600.123456"])
def test_timestamps_accepted(text: str) -> None:
    assert signing.parse_timestamp(text) == float(text)


@pytest.mark.parametrize("text", ["", "-1", "1e9", "1795485600.1234567", "2026-11-24T09:00",
                                  "１７９５４８５６００", " nan", "0x10"])
def test_timestamps_refused(text: str) -> None:
    with pytest.raises(ValueError):
        signing.parse_timestamp(text)


def test_window_is_five_minutes_either_way() -> None:
    now = T0.timestamp()
    for delta, ok in ((0, True), (300, True), (-300, True), (300.5, False), (-301, False)):
        assert signing.within_window(now + delta, T0) is ok


def test_derived_secrets_are_stable_distinct_and_keyed() -> None:
    master = bytes(range(32))
    assert signing.derive_secret(master, "H37.02-qlvb") == (
        "BBg-mtHcJp_1Ufp-UymbL4ub9-XpN3xANrD2GHiOS8E")
    assert signing.derive_secret(master, "H37.02-qlvc") != signing.derive_secret(
        master, "H37.02-qlvb")
    assert signing.derive_secret(bytes(32), "H37.02-qlvb") != signing.derive_secret(
        master, "H37.02-qlvb")


def test_master_key_file(tmp_path: Path) -> None:
    path = tmp_path / "node" / "credentials.key"
    got: list[bytes] = []
    threads = [threading.Thread(target=lambda: got.append(keys.ensure_master_key(path)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and len(got[0]) == keys.KEY_BYTES  # one key, whoever won
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.ensure_master_key(path) == got[0]  # kept, never replaced
    assert [p.name for p in path.parent.iterdir()] == ["credentials.key"]  # no leftovers
    path.write_bytes(b"short")
    with pytest.raises(AxisError) as info:
        keys.ensure_master_key(path)
    assert info.value.code is errors.CONFIG_INVALID


class FakeRegistry:
    def __init__(self, gate_master: bytes) -> None:
        self.master = gate_master
        self.revoked: set[str] = set()
        self.calls = 0
        self.bound: dict[str, Agency] = {}

    def authenticate(self, system_id: str, secret: str) -> Agency:
        self.calls += 1
        if system_id in self.revoked or secret != signing.derive_secret(self.master, system_id):
            raise errors.REGISTRY_CREDENTIAL_INVALID.error(system_id)
        return Agency("000.00.02.H37", "H37.02", "Sở Nội vụ")

    def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        return self.bound.get(fingerprint)


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The replay cache and the buckets are tables (adapters/store/auth_state.py): the
    gate runs on them, on SQLite; tests/test_auth_state.py runs them on both engines."""
    with migrated_engine("sqlite", tmp_path) as e:
        yield e


def make_gate(engine: Engine, **kw: object) -> tuple[Gate, FakeRegistry, FixedClock]:
    master = bytes(32)
    reg, clock = FakeRegistry(master), FixedClock(T0)
    gate = Gate(reg, master, clock=clock, admission=SqlAdmission(engine, Bucket(60, 2)),
                **kw)  # type: ignore[arg-type]
    return gate, reg, clock


def headers(gate: Gate, method: str, target: str, body: bytes, ts: str) -> dict[str, str]:
    sig = signing.sign_request(gate.secret_for("snv"), method, target, ts, body)
    return {"x-axis-system-id": "snv", "x-axis-timestamp": ts, "x-axis-signature": sig}


def test_gate_order_and_codes(engine: Engine) -> None:
    gate, reg, clock = make_gate(engine)
    ts = str(int(T0.timestamp()))

    def run(h: dict[str, str], body: bytes = b"") -> None:
        claim = gate.claim(h)
        caller = gate.credential(claim)
        gate.verify(claim, caller, method="GET", target="/v1/agencies", body=body)

    def code(h: dict[str, str], body: bytes = b"") -> str:
        with pytest.raises(AxisError) as info:
            run(h, body)
        return info.value.code.id

    good = headers(gate, "GET", "/v1/agencies", b"", ts)
    assert code({}) == "auth.missing"
    assert code({**good, "x-axis-signature": "abc"}) == "auth.missing"
    assert reg.calls == 0  # malformed requests never reach the registry
    old = headers(gate, "GET", "/v1/agencies", b"", str(int(T0.timestamp()) - 301))
    assert code(old) == "auth.timestamp_invalid" and reg.calls == 0
    assert code(good, body=b"x") == "auth.signature_invalid"
    run(good)
    assert code(good) == "auth.replayed"
    run(headers(gate, "GET", "/v1/agencies", b"", ts + ".5"))
    with pytest.raises(RateLimited) as limited:
        run(headers(gate, "GET", "/v1/agencies", b"", ts + ".6"))
    assert limited.value.retry_after == 1 and limited.value.code.http_status == 429
    clock.advance(timedelta(seconds=1))
    reg.revoked.add("snv")
    assert code(headers(gate, "GET", "/v1/agencies", b"", ts + ".7")) == (
        "registry.credential_invalid")


def test_gate_client_certificate(engine: Engine) -> None:
    gate, reg, _ = make_gate(engine, require_client_cert=True)
    ts = str(int(T0.timestamp()))
    claim = gate.claim(headers(gate, "GET", "/", b"", ts))
    caller = gate.credential(claim)
    with pytest.raises(AxisError) as info:
        gate.verify(claim, caller, method="GET", target="/", body=b"")
    assert info.value.code.id == "auth.client_certificate"
    reg.bound["ab" * 32] = caller.agency
    claim = gate.claim(headers(gate, "GET", "/", b"", ts + ".1"))
    gate.verify(claim, caller, method="GET", target="/", body=b"",
                client_cert_fingerprint="ab" * 32)


def _delivery(did: str, sender: str, recipient: str) -> Delivery:
    return Delivery(did, "sha", Kind.EDOC, sender, recipient, "doc", 0, None, 0, "k",
                    DeliveryState.DELIVERED, T0)


def test_trail_visibility() -> None:
    deliveries = {"d1": _delivery("d1", "S", "R1"), "d2": _delivery("d2", "S", "R2"),
                  "s1": _delivery("s1", "R1", "S")}
    trail = [
        TrailEntry("doc", "R1", TrailEvent.RECEIVED, T0, "d1"),
        TrailEntry("doc", "R2", TrailEvent.RECEIVED, T0, "d2"),
        TrailEntry("doc", "R1", TrailEvent.STATUS, T0, "s1", status_code="06"),
        TrailEntry("doc", "S", TrailEvent.AVAILABLE, T0, "s1"),
        TrailEntry("doc", "R2", TrailEvent.WITHDRAWN, T0, None),
    ]
    def seen(*who: str) -> list[int]:
        got = visible(trail, frozenset(who), deliveries.get)
        return [trail.index(e) for e in got]

    assert seen("S") == [0, 1, 2, 3]
    assert seen("R1") == [0, 2, 3]
    assert seen("R2") == [1, 4]
    assert seen("X") == []
    assert seen("X", "R2") == [1, 4]  # a parent speaking for its unit
