"""Revocation: CRLs from files and URLs, freshness, fail-closed when stale."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from trust_support import AT, World, fixture, rsa_key, world

from axis import errors
from axis.clock import FixedClock
from axis.settings import Settings, TrustSettings
from axis.trust import pki, setup
from axis.trust.crl import CrlRefresher, CrlStore, cache_path, fetch_crl
from axis.trust.verdict import Revocation, State

__all__ = ["world"]


def root_crl(world: World, revoked: list[tuple[int, object]] | None = None) -> bytes:
    crl = pki.make_crl(world.root_key, world.root, revoked or [], AT - timedelta(hours=2))  # type: ignore[arg-type]
    return crl.public_bytes(Encoding.DER)


def test_revoked_only_from_its_revocation_date(world: World) -> None:
    assert world.verifier().verify(world["revoked"].sign(fixture()), AT).code is (
        errors.CERTIFICATE_REVOKED)
    # A revocation dated after the time of receipt (seen when replaying an old receipt)
    # does not refuse what was received before it.
    g22 = world["g22"]
    later = pki.make_crl(world.inter_key, world.inter,
                         [(g22.cert.serial_number, AT + timedelta(days=1))],
                         AT - timedelta(hours=1))
    store = CrlStore(world.anchors(), max_age=timedelta(hours=48))
    store.add(later.public_bytes(Encoding.DER), "later.crl", AT)
    raw = g22.sign(fixture())
    assert world.verifier(crls=store).verify(raw, AT).state is State.VERIFIED
    after = AT + timedelta(days=2)
    store.add(later.public_bytes(Encoding.DER), "later.crl", after)
    assert world.verifier(crls=store).verify(raw, after).code is errors.CERTIFICATE_REVOKED


def test_revocation_good_unchecked_and_required(world: World) -> None:
    raw = world["g22"].sign(fixture())
    store = world.crls()
    assert world.verifier(crls=store).verify(raw, AT).revocation is Revocation.UNCHECKED
    store.add(root_crl(world), "root.crl", AT)
    verdict = world.verifier(crls=store).verify(raw, AT)
    assert verdict.state is State.VERIFIED and verdict.revocation is Revocation.GOOD
    strict = world.crls(require_crl=True)  # the root's CRL (for the intermediate) missing
    assert world.verifier(crls=strict).verify(raw, AT).code is errors.REVOCATION_UNKNOWN


def test_revoked_intermediate_refuses_its_leaves(world: World) -> None:
    store = world.crls()
    store.add(root_crl(world, [(world.inter.serial_number, AT - timedelta(days=1))]),
              "root.crl", AT)
    verdict = world.verifier(crls=store).verify(world["g22"].sign(fixture()), AT)
    assert verdict.code is errors.CERTIFICATE_REVOKED and "Government CA" in verdict.reason


def test_stale_crl_fails_closed(world: World) -> None:
    raw = world["g22"].sign(fixture())
    old = world.crls(refreshed_at=AT - timedelta(hours=49))  # limit: 48 h
    verdict = world.verifier(crls=old).verify(raw, AT)
    assert verdict.code is errors.REVOCATION_UNKNOWN and "refreshed" in verdict.reason
    assert verdict.code.fault is errors.Fault.NODE  # the sender may retry
    # nextUpdate (AT + 7 days - 1 h) passed, even though the list was just reloaded:
    later = AT + timedelta(days=8)
    store = world.crls(refreshed_at=later)
    inter = world.verifier(crls=store)
    assert inter.verify(raw, later).code is errors.REVOCATION_UNKNOWN


def test_ages_are_visible(world: World) -> None:
    store = world.crls(refreshed_at=AT - timedelta(hours=5))
    assert store.ages(AT) == {str(world.crl_file): timedelta(hours=5)}


def test_crl_not_signed_by_an_anchor_is_refused(world: World, tmp_path: Path) -> None:
    key = rsa_key("spoof")
    spoof_ca = pki.self_signed(key, world.inter.subject, AT, ca=True)
    fake = pki.make_crl(key, spoof_ca, [], AT).public_bytes(Encoding.PEM)  # PEM parses too
    store = CrlStore(world.anchors(), max_age=timedelta(hours=48))
    with pytest.raises(errors.AxisError) as info:
        store.add(fake, "fake.crl", AT)
    assert info.value.code is errors.REVOCATION_UNKNOWN
    with pytest.raises(errors.AxisError):
        store.add(b"garbage", "garbage.crl", AT)
    assert store.ages(AT) == {}


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def crl_server(world: World) -> Iterator[str]:
    _Handler.body = world.crl_file.read_bytes()
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/intermediate.crl"
    server.shutdown()
    server.server_close()


def test_refresh_fetches_urls_into_the_cache(world: World, crl_server: str, tmp_path: Path) -> None:
    cache = tmp_path / "crl"
    store = CrlStore(world.anchors(), max_age=timedelta(hours=48))
    refresher = CrlRefresher(store, files=(), urls=(crl_server,), cache_dir=cache, timeout=5)
    report = refresher.run(AT)
    assert report.loaded == [crl_server] and not report.problems
    assert cache_path(cache, crl_server).read_bytes() == world.crl_file.read_bytes()
    assert store.ages(AT) == {crl_server: timedelta(0)}
    raw = world["revoked"].sign(fixture())
    assert world.verifier(crls=store).verify(raw, AT).code is errors.CERTIFICATE_REVOKED


def test_restart_uses_the_cached_copy_with_its_age(world: World, tmp_path: Path) -> None:
    url = "http://crl.invalid/intermediate.crl"
    cache = tmp_path / "crl"
    cache.mkdir()
    cached = cache_path(cache, url)
    cached.write_bytes(world.crl_file.read_bytes())
    fetched_at = AT - timedelta(hours=3)
    os.utime(cached, (fetched_at.timestamp(), fetched_at.timestamp()))
    store = CrlStore(world.anchors(), max_age=timedelta(hours=48))
    report = CrlRefresher(store, files=(), urls=(url,), cache_dir=cache).start(AT)
    assert report.loaded == [url] and not report.problems
    assert store.ages(AT) == {url: timedelta(hours=3)}  # no network at start-up
    # The same list also configured as a file, loaded now: the fresher copy is kept.
    both = CrlStore(world.anchors(), max_age=timedelta(hours=48))
    CrlRefresher(both, files=(world.crl_file,), urls=(url,), cache_dir=cache).start(AT)
    assert both.ages(AT) == {str(world.crl_file): timedelta(0)}


def test_failed_fetch_keeps_the_last_good_crl_and_reports(world: World, tmp_path: Path) -> None:
    store = world.crls(refreshed_at=AT - timedelta(hours=1))
    dead = "http://127.0.0.1:9/none.crl"  # discard port: connection refused
    report = CrlRefresher(store, files=(tmp_path / "missing.crl",), urls=(dead,),
                          cache_dir=tmp_path, timeout=2).run(AT)
    assert report.loaded == []
    assert [f.code for f in report.problems] == [errors.REVOCATION_UNKNOWN] * 2
    assert store.ages(AT) == {str(world.crl_file): timedelta(hours=1)}


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"x")
    with pytest.raises(errors.AxisError) as info:
        fetch_crl(secret.as_uri(), tmp_path)
    assert info.value.code is errors.CONFIG_INVALID


def test_stage_built_from_settings_and_its_refresh_job(world: World, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, trust=TrustSettings(
        anchors_dir=world.anchors_dir, crl_files=(world.crl_file,), admit_unsigned=("X",)))
    stage = setup.build(settings, AT)
    assert stage.startup.loaded == [str(world.crl_file)] and not stage.startup.problems
    assert stage.policy.admit_unsigned == frozenset({"X"})
    raw = world["revoked"].sign(fixture())
    assert stage.verifier.verify(raw, AT).code is errors.CERTIFICATE_REVOKED
    assert not (tmp_path / "trust").exists()  # start-up never touches the network/cache

    # The refresh itself, as the node's scheduled job runs it (adapters/jobs/catalog.py;
    # scheduled end to end in tests/test_crl_refresh_job.py).
    clock = FixedClock(AT + timedelta(hours=30))
    assert stage.crls.ages(clock.now()) == {str(world.crl_file): timedelta(hours=30)}
    assert stage.refresher.run(clock.now()).loaded == [str(world.crl_file)]
    assert stage.crls.ages(clock.now()) == {str(world.crl_file): timedelta(0)}
