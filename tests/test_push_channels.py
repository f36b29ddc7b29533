"""The delivery channel port (axis/route/channels): the dispatcher chooses each agency's
channel by its delivery mode, tells the delivery worker whose copies go into an inbox, and
refuses a node without a channel for some mode. Pure core: no database, no HTTP."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from axis.clock import FixedClock
from axis.health import LoopGuard
from axis.registry.model import Agency, AgencyState, DeliveryMode
from axis.route.channels import (
    ChannelReport,
    Channels,
    DeliveryChannel,
    InboxChannel,
    QueueChannel,
)

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def agency(agency_id: str, mode: DeliveryMode,
           state: AgencyState = AgencyState.ACTIVE) -> Agency:
    return Agency(agency_id, agency_id, agency_id, state=state, delivery_mode=mode)


AGENCIES = [
    agency("000.00.01.H37", DeliveryMode.PUSH),
    agency("000.00.02.H37", DeliveryMode.PULL),
    agency("000.00.03.H37", DeliveryMode.AMQP),
    agency("000.00.04.H37", DeliveryMode.PUSH),
    agency("000.00.05.H37", DeliveryMode.PULL, AgencyState.SUSPENDED),
    agency("000.00.06.H37", DeliveryMode.PUSH, AgencyState.RETIRED),
]


class Directory:
    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = agencies
        self.lists = 0

    def list(self, *, state: AgencyState | None = None) -> list[Agency]:
        self.lists += 1
        return [a for a in self.agencies if state is None or a.state is state]


class Recording:
    """A push channel stand-in that reports one delivery per agency it was given."""

    mode = DeliveryMode.PUSH
    inbox = True

    def __init__(self) -> None:
        self.passes: list[list[str]] = []

    def run_once(self, agencies: Sequence[Agency]) -> ChannelReport:
        self.passes.append([a.agency_id for a in agencies])
        return ChannelReport(delivered=len(agencies), retried=1)


def channels(directory: Directory, *extra: DeliveryChannel) -> Channels:
    return Channels(directory, (InboxChannel(), QueueChannel(), *extra),
                    clock=FixedClock(T0), poll_seconds=0.01)


def test_each_channel_gets_the_active_agencies_of_its_mode_once_per_pass() -> None:
    directory, push = Directory(AGENCIES), Recording()
    dispatcher = channels(directory, push)
    report = dispatcher.run_once()
    assert push.passes == [["000.00.01.H37", "000.00.04.H37"]]  # not retired, not pull
    assert report == ChannelReport(delivered=2, retried=1)  # pull and amqp add nothing
    assert directory.lists == 1  # the registry is read once for every channel
    assert dispatcher.of(AGENCIES[0]) is push
    assert isinstance(dispatcher.of(AGENCIES[1]), InboxChannel)
    assert isinstance(dispatcher.channel(DeliveryMode.AMQP), QueueChannel)


def test_the_worker_moves_into_inboxes_for_pull_and_push_never_amqp() -> None:
    dispatcher = channels(Directory(AGENCIES), Recording())
    # amqp agencies consume their own queue; suspended and retired ones get nothing.
    assert dispatcher.inbox_agencies() == ["000.00.01.H37", "000.00.02.H37", "000.00.04.H37"]


def test_every_mode_needs_exactly_one_channel() -> None:
    with pytest.raises(ValueError, match="no delivery channel for mode"):
        channels(Directory(AGENCIES))  # no push channel
    with pytest.raises(ValueError, match="two delivery channels for mode pull"):
        channels(Directory(AGENCIES), Recording(), InboxChannel())


def test_reports_add_up() -> None:
    assert ChannelReport(1, 2, 3) + ChannelReport(4, 5, 6) == ChannelReport(5, 7, 9)


def test_the_loop_runs_passes_until_stopped_and_survives_a_failing_pass() -> None:
    class Flaky(Directory):
        def list(self, *, state: AgencyState | None = None) -> list[Agency]:
            found = super().list(state=state)
            if self.lists == 1:
                raise OSError("test: connection reset")
            if self.lists >= 3:
                stop.set()
            return found

    stop = threading.Event()
    directory, push = Flaky(AGENCIES), Recording()
    guard = LoopGuard("push", now=FixedClock(T0).now, log=logging.getLogger("test"),
                      min_s=0.01, transient_max_s=0.02, max_s=0.02)
    loop = threading.Thread(target=channels(directory, push).run, args=(stop, guard),
                            daemon=True)
    loop.start()
    loop.join(10)
    assert not loop.is_alive()
    assert len(push.passes) == 2  # the failed pass reached no channel; the loop went on
