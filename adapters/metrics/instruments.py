"""The node's Prometheus registry and the instruments the edges feed.

One `CollectorRegistry` per node, never the library's global default: a process (the test
suite) may hold several nodes, and each must report only its own.

Counted as things happen: packages accepted (by kind) and refused (by code), submit
latency, push attempts by outcome and their latency. The exchange is core and knows
nothing of Prometheus, so counting wraps `Exchange.submit` here, in the adapter layer
(`MeteredExchange`): every edge that submits (REST, SOAP, CLI) is counted alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from adapters.metrics.collectors import NodeCollector, ScrapeSources
from axis import errors
from axis.errors import AxisError
from axis.route.exchange import Exchange
from axis.route.model import Receipt

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
    def attach(self, sources: ScrapeSources) -> None:
        """Register the scrape-time collector reading `sources` (once)."""
        if not self._attached:
            self.registry.register(NodeCollector(sources))
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
