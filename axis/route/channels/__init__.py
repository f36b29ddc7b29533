"""Delivery channels: how a copy that reached AVAILABLE gets to its agency, by the
agency's delivery mode (issue 9: one owner of delivery state, channels behind one port).

    pull  InboxChannel   the agency fetches from its inbox: nothing to do after AVAILABLE
    push  PushChannel    the node POSTs each copy (axis/route/channels/push.py)
    amqp  QueueChannel   the agency consumes its own broker queue: the node never moves
                         its copies into an inbox, they stay QUEUED until taken

A channel decides, never transitions: every state change still goes through
axis/route/delivery.py (directly, or through `Exchange.take`). `Channels` is the
dispatcher the node runs: it reads the active agencies once per pass, gives each channel
the agencies of its mode, and answers the delivery worker's question of whose copies the
node hands into an inbox (`inbox_agencies`). An agency another node serves (issue 10:
`Agency.peer`, the national axis or another province) is the peer channel's, whatever its
mode: axis/route/channels/peer.py forwards its copies from the inbox.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from axis.clock import Clock
from axis.health import LoopGuard
from axis.registry.model import Agency, AgencyState, DeliveryMode

log = logging.getLogger("axis.channels")


class AgencyLister(Protocol):
    """What the dispatcher needs of the registry (`axis.registry.service.Registry`)."""

    def list(self, *, state: AgencyState | None = None) -> builtins.list[Agency]: ...


@dataclass(frozen=True, slots=True)
class ChannelReport:
    """What one pass handed over: copies delivered, attempts to retry, dead letters."""

    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0

    def __add__(self, other: ChannelReport) -> ChannelReport:
        return ChannelReport(self.delivered + other.delivered, self.retried + other.retried,
                             self.dead_lettered + other.dead_lettered)


class DeliveryChannel(Protocol):
    """One delivery mode's way of handing copies over."""

    @property
    def mode(self) -> DeliveryMode: ...

    @property
    def inbox(self) -> bool:
        """Whether the node moves this mode's copies into the agency's inbox (AVAILABLE);
        False: the agency consumes them from its broker queue itself."""
        ...

    def run_once(self, agencies: Sequence[Agency]) -> ChannelReport:
        """One pass over what this channel must hand over to `agencies` (the active
        agencies of its mode). No `now` argument: a pass may spend several POST timeouts,
        and a channel times each claim when it makes it (its injected clock)."""
        ...


class InboxChannel:
    """Pull: AVAILABLE is the hand-over; the agency takes its copy (`Exchange.take`)."""

    mode = DeliveryMode.PULL
    inbox = True

    def run_once(self, agencies: Sequence[Agency]) -> ChannelReport:
        return ChannelReport()


class QueueChannel:
    """AMQP: the agency's system consumes its own queue on the broker; the node's part
    ended with the publish (axis/route/handover.py)."""

    mode = DeliveryMode.AMQP
    inbox = False

    def run_once(self, agencies: Sequence[Agency]) -> ChannelReport:
        return ChannelReport()


class Channels:
    """One channel per delivery mode, chosen by the agency's mode."""

    def __init__(self, directory: AgencyLister, channels: Iterable[DeliveryChannel], *,
                 clock: Clock, poll_seconds: float,
                 peer: DeliveryChannel | None = None) -> None:
        by_mode: dict[DeliveryMode, DeliveryChannel] = {}
        for channel in channels:
            if channel.mode in by_mode:
                raise ValueError(f"two delivery channels for mode {channel.mode.value}")
            by_mode[channel.mode] = channel
        # Every mode an agency can be registered with must have its channel: a mode
        # without one would leave its agencies' copies waiting with nobody to hand them.
        missing = sorted(m.value for m in DeliveryMode if m not in by_mode)
        if missing:
            raise ValueError(f"no delivery channel for mode(s) {', '.join(missing)}")
        self._by_mode = by_mode
        self._peer = peer
        self._directory = directory
        self._clock = clock
        self._poll_seconds = poll_seconds

    def channel(self, mode: DeliveryMode) -> DeliveryChannel:
        return self._by_mode[mode]

    def of(self, agency: Agency) -> DeliveryChannel:
        if self._peer is not None and agency.peer is not None:
            return self._peer
        return self._by_mode[agency.delivery_mode]

    def inbox_agencies(self) -> builtins.list[str]:
        """The active agencies whose copies the delivery worker moves into inboxes."""
        return [a.agency_id for a in self._directory.list(state=AgencyState.ACTIVE)
                if self.of(a).inbox]

    def run_once(self) -> ChannelReport:
        """One pass of every channel over the active agencies of its mode."""
        agencies = self._directory.list(state=AgencyState.ACTIVE)
        report = ChannelReport()
        for mode, channel in self._by_mode.items():
            report += channel.run_once([a for a in agencies
                                        if a.delivery_mode is mode and self.of(a) is channel])
        if self._peer is not None:
            report += self._peer.run_once([a for a in agencies if a.peer is not None])
        return report

    def run(self, stop: threading.Event, guard: LoopGuard | None = None) -> None:
        """Pass after pass until `stop`; see `run_passes`."""
        run_passes(self.run_once, stop, guard or LoopGuard("channels", now=self._clock.now,
                                                           log=log), self._poll_seconds)


def run_passes(run_once: Callable[[], object], stop: threading.Event, guard: LoopGuard,
               poll_seconds: float) -> None:
    """No exception ends the loop (axis/health.py: logged with an error id, reported to
    the health registry, backed off); every completed pass is a heartbeat. Waiting is
    `stop.wait`, so stopping never waits out a poll."""
    while not stop.is_set():
        outcome = guard.run_pass(run_once)
        stop.wait(max(poll_seconds, outcome.retry_after_s))

