"""Figures read at scrape time, never counted: `NodeCollector` and `HealthCollector`.

- From the store, the broker and the trust stage: deliveries by state, outbox backlog,
  stranded deliveries, broker queue depth per active agency (bounded), seconds until the
  node certificate expires, age of each CRL. A part that cannot be read (database or
  broker away) is reported as `axis_collector_up{part} 0` instead of failing the scrape.
- The heartbeats of this process's loops and jobs (axis/health.py), by `HealthCollector`,
  which the app registers on a registry of its own (heartbeats are per process).

The collector reads through `ScrapeSources`, a handful of callables the composition root
fills in: it knows nothing of the node's shape, so the root can import this module
without this module importing the root.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from axis.clock import Clock
from axis.federation.peers import PeerView
from axis.health import Heartbeats, Liveness
from axis.route.model import DeliveryState

log = logging.getLogger("axis.metrics")


@dataclass(frozen=True, slots=True)
class ScrapeSources:
    """Where each scrape-time figure comes from; every callable may raise (part down)."""

    now: Callable[[], datetime]
    deliveries: Callable[[], Mapping[DeliveryState, int]]  # count by state
    outbox_pending: Callable[[], int]
    stranded: Callable[[datetime], int]  # accepted before the bound and in no inbox
    queue_depths: Callable[[], Mapping[str, int]]  # per active agency, already bounded
    certificate_expires: Callable[[], datetime]  # the node's signing certificate
    crl_ages: Callable[[datetime], Mapping[str, timedelta]]  # by source
    # Issue 10: per peer, what waits to be forwarded and how the peer is doing.
    peers: Callable[[], Sequence[PeerView]] = lambda: ()


class NodeCollector(Collector):
    def __init__(self, sources: ScrapeSources) -> None:
        self._sources = sources

    def describe(self) -> list[Metric]:
        return []  # unknown until collected: families depend on the store's contents

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("axis_collector_up",
                               "1 when the part could be read at this scrape.", labels=["part"])
        for part, read in (("store", self._store), ("broker", self._broker),
                           ("trust", self._trust), ("peers", self._peers)):
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
        src = self._sources
        states = GaugeMetricFamily("axis_deliveries", "Deliveries by state.", labels=["state"])
        counts = src.deliveries()
        for state in DeliveryState:
            states.add_metric([state.value], counts.get(state, 0))
        yield states
        yield GaugeMetricFamily("axis_outbox_pending",
                                "Deliveries accepted, not yet handed to the broker.",
                                value=src.outbox_pending())
        yield GaugeMetricFamily(
            "axis_deliveries_stranded",
            "Deliveries accepted longer ago than the reconciliation bound and in no inbox.",
            value=src.stranded(src.now()))

    def _peers(self) -> Iterator[Metric]:
        now = self._sources.now()
        waiting = GaugeMetricFamily("axis_peer_backlog",
                                    "Copies waiting to be forwarded to the peer.",
                                    labels=["peer"])
        oldest = GaugeMetricFamily("axis_peer_oldest_waiting_seconds",
                                   "Age of the oldest copy waiting for the peer.",
                                   labels=["peer"])
        attempts = GaugeMetricFamily("axis_peer_attempts",
                                     "Attempts spent on the copies still waiting.",
                                     labels=["peer"])
        dead = GaugeMetricFamily("axis_peer_dead_letters",
                                 "Copies for the peer given up (resend: axis peer resend).",
                                 labels=["peer"])
        success = GaugeMetricFamily("axis_peer_last_success_timestamp_seconds",
                                    "Unix time of the last call to the peer that worked.",
                                    labels=["peer"])
        down = GaugeMetricFamily("axis_peer_unreachable",
                                 "1 when the peer has failed for longer than its bound.",
                                 labels=["peer"])
        for view in self._sources.peers():
            name, b = view.peer.name, view.backlog
            waiting.add_metric([name], b.waiting)
            oldest.add_metric([name], (now - b.oldest_waiting_at).total_seconds()
                              if b.oldest_waiting_at else 0)
            attempts.add_metric([name], b.attempts)
            dead.add_metric([name], b.dead_letters)
            if view.peer.last_success_at is not None:
                success.add_metric([name], view.peer.last_success_at.timestamp())
            down.add_metric([name], int(view.unreachable))
        yield from (waiting, oldest, attempts, dead, success, down)

    def _broker(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("axis_queue_depth",
                                  "Messages waiting in the broker per active agency.",
                                  labels=["agency"])
        for agency_id, waiting in self._sources.queue_depths().items():
            depth.add_metric([agency_id], waiting)
        yield depth

    def _trust(self) -> Iterator[Metric]:
        src = self._sources
        now = src.now()
        yield GaugeMetricFamily(
            "axis_node_certificate_expiry_seconds",
            "Seconds until the node's signing certificate expires (negative: expired).",
            value=(src.certificate_expires() - now).total_seconds())
        ages = GaugeMetricFamily("axis_crl_age_seconds",
                                 "Seconds since each CRL was last refreshed, by source.",
                                 labels=["source"])
        for source, age in sorted(src.crl_ages(now).items()):
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
