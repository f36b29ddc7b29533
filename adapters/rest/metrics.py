"""Prometheus metrics of one node: `/metrics` (issue 5).

One `CollectorRegistry` per node, never the library's global default: a process (the test
suite) may hold several nodes, and each must report only its own.

Two kinds of figures:
- counted as things happen: packages accepted (by kind) and refused (by code), submit
  latency, push attempts by outcome and their latency. The exchange is core and knows
  nothing of Prometheus, so counting wraps `Exchange.submit` here, in the adapter layer
  (`MeteredExchange`): every edge that submits (REST, SOAP, CLI) is counted alike;
- read at scrape time from the store, the broker and the trust stage: deliveries by
  state, outbox backlog, broker queue depth per active agency (bounded), seconds until the
  node certificate expires, age of each CRL. A part that cannot be read (database or
  broker away) is reported as `axis_collector_up{part} 0` instead of failing the scrape;
- the heartbeats of this process's loops and jobs (axis/health.py), by `HealthCollector`,
  which the app registers on a registry of its own (heartbeats are per process).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from axis import errors
from axis.clock import Clock
from axis.errors import AxisError
from axis.health import Heartbeats, Liveness
from axis.registry.model import AgencyState
from axis.route.exchange import Exchange
from axis.route.model import DeliveryState, Receipt

if TYPE_CHECKING:
    from adapters.node import Node

log = logging.getLogger("axis.metrics")

# Submits take milliseconds (signature check) to seconds (a 50 MB package): log-spaced.
SUBMIT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PUSH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class NodeMetrics:
    """The node's registry and the instruments the edges feed."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.accepted = Counter("axis_packages_accepted", "Packages accepted, by kind.",
                                ["kind"], registry=r)
        self.refused = Counter("axis_packages_refused",
                               "Packages refused, by error code (docs/errors.md).",
                               ["code"], registry=r)
        self.submit_seconds = Histogram(
            "axis_submit_seconds", "Time to accept or refuse a package (wall clock).",
            ["outcome"], buckets=SUBMIT_BUCKETS, registry=r)
        self.push_attempts = Counter(
            "axis_push_attempts", "Push attempts by outcome: delivered, retry, dead_letter.",
            ["outcome"], registry=r)
        self.push_seconds = Histogram("axis_push_seconds", "Time of one push attempt.",
                                      buckets=PUSH_BUCKETS, registry=r)
        self._attached = False

    # --- fed by the edges -------------------------------------------------------------
    def submitted(self, receipt: Receipt | None, code: str, seconds: float) -> None:
        if receipt is not None:
            self.accepted.labels(kind=receipt.kind.value).inc()
            self.submit_seconds.labels(outcome="accepted").observe(seconds)
        else:
            self.refused.labels(code=code).inc()
            self.submit_seconds.labels(outcome="refused").observe(seconds)

    def pushed(self, outcome: str, seconds: float) -> None:  # PushObserver
        self.push_attempts.labels(outcome=outcome).inc()
        self.push_seconds.observe(seconds)

    # --- read at scrape time ----------------------------------------------------------
    def attach(self, node: Node) -> None:
        """Register the scrape-time collector for `node` (once)."""
        if not self._attached:
            self.registry.register(NodeCollector(node))
            self._attached = True


class _NoMetrics:
    def submitted(self, receipt: Receipt | None, code: str, seconds: float) -> None:
        return None


@dataclass(slots=True)
class MeteredExchange(Exchange):
    """`Exchange` whose `submit` is counted and timed (nothing else changes)."""

    metrics: NodeMetrics | _NoMetrics = field(default_factory=_NoMetrics)
    timer: Callable[[], float] = time.perf_counter

    def submit(self, raw: bytes, **kwargs: Any) -> Receipt:
        started = self.timer()
        try:
            # Explicit base: slots=True rebuilds the class, which breaks bare super().
            receipt = Exchange.submit(self, raw, **kwargs)
        except AxisError as exc:
            self.metrics.submitted(None, exc.code.id, self.timer() - started)
            raise
        except Exception:
            self.metrics.submitted(None, errors.INTERNAL.id, self.timer() - started)
            raise
        self.metrics.submitted(receipt, "", self.timer() - started)
        return receipt


class NodeCollector(Collector):
    def __init__(self, node: Node) -> None:
        self._node = node

    def describe(self) -> list[Metric]:
        return []  # unknown until collected: families depend on the store's contents

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("axis_collector_up",
                               "1 when the part could be read at this scrape.", labels=["part"])
        for part, read in (("store", self._store), ("broker", self._broker),
                           ("trust", self._trust)):
            try:
                families = list(read())
            except Exception as exc:  # a scrape must not fail because a service is away
                # Every scrape while a service is away: one line a minute with a count.
                log.warning("metrics: %s unreadable: %s", part, exc,
                            extra={"rate_key": f"metrics:{part}"})
                up.add_metric([part], 0)
                continue
            up.add_metric([part], 1)
            yield from families
        yield up

    def _store(self) -> Iterator[Metric]:
        states = GaugeMetricFamily("axis_deliveries", "Deliveries by state.", labels=["state"])
        with self._node.store.transaction() as tx:
            for state in DeliveryState:
                states.add_metric([state.value], tx.count_deliveries(state))
            pending = tx.pending_outbox()
        yield states
        yield GaugeMetricFamily("axis_outbox_pending",
                                "Deliveries accepted, not yet handed to the broker.",
                                value=pending)
        yield GaugeMetricFamily(
            "axis_deliveries_stranded",
            "Deliveries accepted longer ago than the reconciliation bound and in no inbox.",
            value=self._node.worker.stranded(self._node.exchange.clock.now()))

    def _broker(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("axis_queue_depth",
                                  "Messages waiting in the broker per active agency.",
                                  labels=["agency"])
        limit = self._node.settings.admin.metrics_max_agencies
        agencies = self._node.registry.list(state=AgencyState.ACTIVE)[:limit]
        for agency in agencies:
            depth.add_metric([agency.agency_id], self._node.broker.depth(agency.agency_id))
        yield depth

    def _trust(self) -> Iterator[Metric]:
        now = self._node.exchange.clock.now()
        cert = self._node.signer.cert
        yield GaugeMetricFamily(
            "axis_node_certificate_expiry_seconds",
            "Seconds until the node's signing certificate expires (negative: expired).",
            value=(cert.not_valid_after_utc - now).total_seconds())
        ages = GaugeMetricFamily("axis_crl_age_seconds",
                                 "Seconds since each CRL was last refreshed, by source.",
                                 labels=["source"])
        for source, age in sorted(self._node.trust.crls.ages(now).items()):
            ages.add_metric([source], age.total_seconds())
        yield ages


class HealthCollector(Collector):
    """The heartbeats of one process's loops and jobs, read at scrape time."""

    def __init__(self, health: Heartbeats, clock: Clock) -> None:
        self._health, self._clock = health, clock

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        beats = self._health.status(self._clock.now())
        up = GaugeMetricFamily("axis_background_up",
                               "1 when the loop or job is alive (not dead, not late).",
                               labels=["name", "kind"])
        loop_beat = GaugeMetricFamily(
            "axis_loop_last_beat_timestamp_seconds",
            "Unix time of the loop's last completed pass.", labels=["loop"])
        job_ok = GaugeMetricFamily(
            "axis_job_last_success_timestamp_seconds",
            "Unix time of the job's last successful run.", labels=["job"])
        job_err = GaugeMetricFamily(
            "axis_job_last_error_timestamp_seconds",
            "Unix time of the job's last failed run.", labels=["job"])
        failures = CounterMetricFamily(
            "axis_background_failures", "Failed passes of a loop or runs of a job.",
            labels=["name", "kind"])
        for b in beats:
            up.add_metric([b.name, b.kind], 1 if b.state is Liveness.ALIVE else 0)
            failures.add_metric([b.name, b.kind], b.failures)
            if b.kind == "job":
                if b.last_success is not None:
                    job_ok.add_metric([b.name], b.last_success.timestamp())
                if b.last_error_at is not None:
                    job_err.add_metric([b.name], b.last_error_at.timestamp())
            elif b.last_success is not None:
                loop_beat.add_metric([b.name], b.last_success.timestamp())
        yield from (up, loop_beat, job_ok, job_err, failures)
