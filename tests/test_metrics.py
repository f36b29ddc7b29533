"""/metrics scraped from a real server and parsed with prometheus_client's own parser:
packages accepted and refused by code, submit latency, deliveries by state, queue depth
per agency, node certificate expiry and CRL age; one registry per node; a scrape that
survives a broker outage; the optional token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from admin_support import OPERATOR_TOKEN, bearer, serve, start
from cryptography.hazmat.primitives.serialization import Encoding
from exchange_support import NOI_VU, T0, TAI_CHINH, UBND, TestNode, make_pki
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.amqp.memory import InProcessBroker
from axis import errors
from axis.errors import AxisError
from axis.settings import AdminSettings, TrustSettings
from axis.trust import pki

AMQP_AGENCY = "000.00.11.H37"  # consumes its own queue: what waits there is depth


class FlakyBroker(InProcessBroker):
    away = False

    def depth(self, agency_id: str) -> int:
        if self.away:
            raise errors.BROKER_UNAVAILABLE.error("test: broker away")
        return super().depth(agency_id)


@pytest.fixture(scope="module")
def pki_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("pki")
    anchors = make_pki(d)
    ca_key = pki.load_key(d / "ca.key")
    ca_cert = pki.load_certs(d / "ca.pem")[0]
    crl = pki.make_crl(ca_key, ca_cert, [], T0 - timedelta(hours=1))  # type: ignore[arg-type]
    (d / "ca.crl").write_bytes(crl.public_bytes(Encoding.DER))
    return d, anchors


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    d, anchors = pki_dirs
    node = start(tmp_path, d, anchors, broker=FlakyBroker(),
                 trust=TrustSettings(anchors_dir=anchors, crl_files=(d / "ca.crl",)))
    yield node
    node.node.close()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def refuse_one(t: TestNode) -> str:
    _, raw = t.document(UBND, (NOI_VU,), 99)
    tampered = raw.replace("thử nghiệm".encode(), b"thu nghiem", 1)
    assert tampered != raw
    with pytest.raises(AxisError) as exc:
        t.node.exchange.submit(tampered)
    return exc.value.code.id


def test_scrape_reports_traffic_state_and_trust(t: TestNode) -> None:
    _, raw = t.document(UBND, (NOI_VU, TAI_CHINH), 1)
    t.node.exchange.submit(raw)
    t.node.exchange.submit(t.document(UBND, (AMQP_AGENCY,), 2)[1])
    code = refuse_one(t)
    t.deliver_all()
    t.clock.advance(timedelta(hours=1))

    with serve(t) as api:
        r = api.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    m = samples(r.text)
    assert value(m, "axis_packages_accepted_total", kind="edoc") == 2
    assert value(m, "axis_packages_refused_total", code=code) == 1
    assert code.startswith("trust.")
    assert value(m, "axis_submit_seconds_count", outcome="accepted") == 2
    assert value(m, "axis_submit_seconds_count", outcome="refused") == 1
    assert value(m, "axis_submit_seconds_bucket", outcome="accepted", le="+Inf") == 2
    assert value(m, "axis_deliveries", state="available") == 2
    assert value(m, "axis_deliveries", state="queued") == 1  # waiting on its AMQP queue
    assert value(m, "axis_deliveries", state="delivered") == 0
    assert value(m, "axis_outbox_pending") == 0
    assert value(m, "axis_queue_depth", agency=AMQP_AGENCY) == 1
    assert value(m, "axis_queue_depth", agency=NOI_VU) == 0
    not_after = t.node.signer.cert.not_valid_after_utc
    assert value(m, "axis_node_certificate_expiry_seconds") == pytest.approx(
        (not_after - t.clock.now()).total_seconds())
    ages = {dict(labels)["source"]: v for (name, labels), v in m.items()
            if name == "axis_crl_age_seconds"}
    assert list(ages.values()) == [3600.0] and next(iter(ages)).endswith("ca.crl")
    for part in ("store", "broker", "trust"):
        assert value(m, "axis_collector_up", part=part) == 1


def test_each_node_counts_only_its_own(
    t: TestNode, tmp_path: Path, pki_dirs: tuple[Path, Path]
) -> None:
    other = start(tmp_path / "other", *pki_dirs)
    try:
        t.node.exchange.submit(t.document(UBND, (NOI_VU,), 3)[1])
        mine = samples(generate_latest(t.node.metrics.registry).decode())
        theirs = samples(generate_latest(other.node.metrics.registry).decode())
        assert value(mine, "axis_packages_accepted_total", kind="edoc") == 1
        assert value(theirs, "axis_packages_accepted_total", kind="edoc") is None
    finally:
        other.node.close()


def test_a_scrape_survives_the_broker_being_away(t: TestNode) -> None:
    assert isinstance(t.node.broker, FlakyBroker)
    t.node.broker.away = True
    with serve(t) as api:
        r = api.get("/metrics")
        ready = api.get("/readyz")
        delivery = api.get("/health/delivery")
    assert r.status_code == 200
    m = samples(r.text)
    assert value(m, "axis_collector_up", part="broker") == 0
    assert value(m, "axis_collector_up", part="store") == 1
    assert not any(name == "axis_queue_depth" for name, _ in m)
    # The node still accepts (the outbox holds what it accepts): ready; deliveries do not
    # flow: the delivery signal says so.
    assert ready.status_code == 200 and "broker" not in ready.json()["checks"]
    assert delivery.status_code == 503 and delivery.json()["checks"]["broker"] is False


def test_metrics_can_require_an_operator_token(t: TestNode) -> None:
    settings = t.node.settings.model_copy(update={"admin": AdminSettings(
        tokens=t.node.settings.admin.tokens, metrics_require_token=True)})
    with serve(t, settings) as api:
        denied = api.get("/metrics")
        allowed = api.get("/metrics", headers=bearer(OPERATOR_TOKEN))
    assert denied.status_code == 401 and denied.json()["code"] == "auth.admin_required"
    assert allowed.status_code == 200 and "axis_deliveries" in allowed.text
