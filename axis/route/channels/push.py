"""The push channel's policy: deliveries waiting in a push agency's inbox are POSTed to
its endpoint, retried with back-off, dead-lettered after a bound.

Where it sits. The delivery worker moves a push agency's deliveries into its inbox like any
pull agency's (AVAILABLE); this channel then takes them from there, urgent first
(Art. 7.2). A 2xx answer has exactly the effect of the agency taking its copy
(`Exchange.take`): DELIVERED with the Art. 11.2 receipt time, trail, journal and the
node's 01 to the sender. Until then the copy also stays pullable: an agency whose endpoint
is down can still fetch.

Failures. Any other answer, a redirect (never followed: the package goes only where the
registry says), a timeout or a refused connection is a failed attempt, journaled. The next
attempt waits `base * 2^(n-1)` seconds capped at `max_delay`, times a uniform random
factor (full jitter: retries of many deliveries do not arrive in waves). After
`max_attempts` the delivery is dead-lettered: FAILED, out of the inbox, trail and journal
entries, an alert in the log (`node.push_dead_lettered`); `requeue` puts it back.

Waiting is scheduled, never slept: a pass pushes only what is due by the injected clock, so
one slow agency does not hold the loop and tests move the clock instead of sleeping. The
attempt counts and next-attempt times live in the database (`PushAttemptStore`, in
adapters/push/attempts.py): a restarted worker keeps each copy's budget, and of several
worker processes only the one that claimed a copy's attempt POSTs it. Should a push still
happen twice (a worker killed between the POST and the take), the receiver de-duplicates
by X-Axis-Delivery-Id and `take` is idempotent.

The ports: `PushTransport` makes one signed HTTP POST (adapters/push/deliverer.py),
`PushAttemptStore` keeps the budget, `PushObserver` counts attempts for the metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from axis import errors
from axis.clock import Clock, iso
from axis.errors import AxisError
from axis.health import LoopGuard
from axis.registry.model import Agency, AgencyState, DeliveryMode
from axis.route.channels import AgencyLister, ChannelReport, dead_letters, run_passes
from axis.route.exchange import Exchange
from axis.route.model import Delivery, DeliveryState, InboxItem
from axis.settings import PushSettings

log = logging.getLogger("axis.push")


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """One POST's result: `error` is None on a 2xx, else why the attempt failed (it is
    journaled: never the secret)."""

    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class PushTransport(Protocol):
    """One signed POST of `body` to the agency's endpoint (X-Axis-Attempt: `attempt`)."""

    def post(self, agency: Agency, delivery: Delivery, body: bytes, *, attempt: int
             ) -> PushOutcome: ...


@dataclass(frozen=True, slots=True)
class Attempts:
    """A copy's attempt budget as the database holds it."""

    delivery_id: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


class PushAttemptStore(Protocol):
    """The attempt budget, shared by every worker process (adapters/push/attempts.py)."""

    def get(self, delivery_id: str) -> Attempts | None: ...

    def of(self, delivery_ids: Iterable[str]) -> dict[str, Attempts]: ...

    def claim(self, delivery_id: str, now: datetime, lease: timedelta) -> int | None:
        """The number of the attempt this caller may make now, or None when the copy is
        not due yet or another worker holds it."""
        ...

    def failed(self, delivery_id: str, *, due: datetime, error: str) -> None: ...

    def forget(self, delivery_id: str) -> None: ...

    def prune(self) -> None:
        """Drop the budgets of copies no longer AVAILABLE."""
        ...


class PushObserver(Protocol):
    """Metrics port: one call per attempt (`delivered`, `retry`, `dead_letter`)."""

    def pushed(self, outcome: str, seconds: float) -> None: ...


class _NoObserver:
    def pushed(self, outcome: str, seconds: float) -> None:
        return None


class PushChannel:
    """The `push` delivery mode's channel (axis/route/channels)."""

    mode = DeliveryMode.PUSH
    inbox = True  # pushed from the inbox, and pullable from there meanwhile

    def __init__(
        self,
        *,
        exchange: Exchange,
        directory: AgencyLister,
        transport: PushTransport,
        attempts: PushAttemptStore,
        clock: Clock,
        random: Callable[[], float],
        settings: PushSettings,
        observer: PushObserver | None = None,
        timer: Callable[[], float] | None = None,
    ) -> None:
        self._exchange = exchange
        self._directory = directory
        self._transport = transport
        self._attempts = attempts
        self._clock = clock
        self._random = random
        self._settings = settings
        self._observer = observer or _NoObserver()
        self._timer = timer or time.perf_counter  # latency is wall time, not clock
        self._lock = threading.Lock()  # one pass at a time in this process (the loop, tests)

    # --- the pass ------------------------------------------------------------------------
    def run_once(self, agencies: Sequence[Agency] | None = None) -> ChannelReport:
        """One pass over the push agencies among `agencies` (the dispatcher's), or, on its
        own (None), over every active push agency."""
        with self._lock:
            if agencies is None:
                agencies = self._directory.list(state=AgencyState.ACTIVE)
            report = ChannelReport()
            for agency in agencies:
                if agency.delivery_mode is DeliveryMode.PUSH:
                    report = self._push_agency(agency, report)
            # Copies taken by pull, withdrawn or dead-lettered elsewhere: forget them.
            self._attempts.prune()
            return report

    def run(self, stop: threading.Event, guard: LoopGuard | None = None) -> None:
        """This channel's passes alone until `stop` (the node runs `Channels.run`)."""
        run_passes(self.run_once, stop,
                   guard or LoopGuard("push", now=self._clock.now, log=log),
                   self._settings.poll_seconds)

    def attempts(self, delivery_id: str) -> int:
        """Attempts the copy has used (claimed) so far, as the database holds them."""
        row = self._attempts.get(delivery_id)
        return row.attempts if row else 0

    def _lease(self) -> timedelta:
        # Long enough for the POST to end (its timeout) and the outcome to be written;
        # after it, a copy whose worker died mid-attempt is another worker's to try.
        return timedelta(seconds=3 * self._settings.timeout_seconds + 30)

    # --- one agency ----------------------------------------------------------------------
    def _push_agency(self, agency: Agency, report: ChannelReport) -> ChannelReport:
        items = self._exchange.inbox(agency.agency_id, limit=self._settings.batch)
        known = self._attempts.of(i.delivery_id for i in items)  # one read, no lock
        now = self._clock.now()  # per agency: earlier agencies' POSTs took time
        for item in items:
            row = known.get(item.delivery_id)
            if row is not None and row.next_attempt_at > now:
                continue  # backing off, or another worker's attempt is in flight
            claimed = self._attempts.claim(item.delivery_id, now, self._lease())
            if claimed is None:
                continue  # another worker claimed it since the read
            attempt = claimed
            started = self._timer()
            error = self._post(agency, item, attempt)
            elapsed = self._timer() - started
            if error is None:
                self._delivered(agency, item)
                self._attempts.forget(item.delivery_id)
                self._observer.pushed("delivered", elapsed)
                report = replace(report, delivered=report.delivered + 1)
                continue
            if attempt >= self._settings.max_attempts:
                self.dead_letter(item.delivery_id, attempts=attempt, last_error=error,
                                 endpoint=agency.endpoint)
                self._observer.pushed("dead_letter", elapsed)
                report = replace(report, dead_lettered=report.dead_lettered + 1)
            else:
                due = now + self.backoff(attempt)
                self._attempts.failed(item.delivery_id, due=due, error=error)
                self._journal_failure(item, attempt, error, due)
                self._observer.pushed("retry", elapsed)
                report = replace(report, retried=report.retried + 1)
            # The endpoint is failing: the rest of this agency's copies wait for the next
            # pass rather than each costing a timeout now.
            break
        return report

    def backoff(self, attempt: int) -> timedelta:
        """The wait after failed attempt `attempt`: capped exponential, full jitter."""
        s = self._settings
        ceiling = min(s.max_delay_seconds, s.base_delay_seconds * 2 ** (attempt - 1))
        return timedelta(seconds=ceiling * min(max(self._random(), 0.0), 1.0))

    def _post(self, agency: Agency, item: InboxItem, attempt: int) -> str | None:
        """None on a 2xx, else why the attempt failed."""
        if self._settings.require_https and not agency.endpoint.lower().startswith(
                "https://"):
            return "endpoint is not https (push.require_https)"
        with self._exchange.store.transaction() as tx:
            delivery = tx.get_delivery(item.delivery_id)
        if delivery is None or delivery.state is not DeliveryState.AVAILABLE:
            return "the delivery is no longer available"
        body = self._exchange.blobs.get(delivery.package_sha256)
        return self._transport.post(agency, delivery, body, attempt=attempt).error

    def _delivered(self, agency: Agency, item: InboxItem) -> None:
        try:
            self._exchange.take(agency.agency_id, item.delivery_id)
        except AxisError as exc:
            # Recalled between the POST and now (Art. 9.3): the agency has the copy; the
            # recall travels to it as a package of its own.
            log.warning("pushed %s to %s but could not mark it delivered: %s",
                        item.delivery_id, agency.agency_id, exc)

    def _journal_failure(self, item: InboxItem, attempt: int, error: str, due: datetime
                         ) -> None:
        with self._exchange.store.transaction() as tx:
            tx.append_journal(self._clock.now(), "delivery.push_failed", item.delivery_id, {
                "recipient": item.agency_id, "attempt": attempt, "error": error,
                "next_attempt_at": iso(due)})
        log.warning("push of %s to %s failed (attempt %d): %s; next at %s",
                    item.delivery_id, item.agency_id, attempt, error, iso(due))

    # --- dead letters --------------------------------------------------------------------
    def dead_letter(self, delivery_id: str, *, attempts: int, last_error: str,
                    endpoint: str = "") -> bool:
        """AVAILABLE → FAILED, out of the inbox, trail, journal, alert; False when the
        copy was meanwhile taken or withdrawn."""
        d = dead_letters.give_up(self._exchange, self._attempts, delivery_id,
                                 at=self._clock.now(), attempts=attempts,
                                 last_error=last_error, endpoint=endpoint, channel="push")
        if d is None:
            return False
        # The alert: operators watch for this line (and axis_push_attempts_total).
        log.error("ALERT %s: delivery %s to %s dead-lettered after %d attempts: %s",
                  errors.PUSH_DEAD_LETTERED.id, delivery_id, d.recipient_id, attempts,
                  last_error)
        return True

    def requeue(self, delivery_id: str, *, actor: str, reason: str) -> bool:
        """An operator's second chance for a dead letter: FAILED → AVAILABLE, back in the
        inbox with a fresh attempt budget. False when it is not a dead letter."""
        # Not under the pass lock: a pass may wait on a slow endpoint.
        return dead_letters.requeue(self._exchange, self._attempts, delivery_id,
                                    at=self._clock.now(), actor=actor, reason=reason)

