"""The composition root: one node built from one settings object.

Embedded default (empty `database_url` and `broker_url`): SQLite under `data_dir`, the
in-process broker, packages on disk under `data_dir/packages`, the node key under
`data_dir/node`. Production: PostgreSQL and RabbitMQ by URL; everything else is the same.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine

from adapters.amqp.memory import InProcessBroker
from adapters.federation.link import VdxpLink
from adapters.metrics.collectors import ScrapeSources
from adapters.metrics.instruments import MeteredExchange, NodeMetrics
from adapters.push.attempts import PushAttempts
from adapters.push.deliverer import PushDeliverer
from adapters.store.blobs import FileBlobs
from adapters.store.db import database_url, make_engine
from adapters.store.migrate import upgrade
from adapters.store.peer_repo import SqlPeerStore
from adapters.store.refused_repo import SqlRefusedEvidence
from adapters.store.registry_repo import SqlRegistryStore
from adapters.store.route_repo import SqlRouteStore
from axis.app.agency import AgencyOperations
from axis.auth import keys, signing
from axis.calendar import WorkCalendar
from axis.calendar_file import load_calendar
from axis.clock import Clock, SystemClock
from axis.edxml.validate import Validator
from axis.federation.bindings import PeerBindings
from axis.federation.intake import PeerIntake
from axis.federation.peers import PeerAdmin
from axis.federation.provinces import ProvinceRouter
from axis.journal import trust_settings
from axis.journal.access import AccessJournal
from axis.registry.bindings import RegistryBindings
from axis.registry.model import AgencyState
from axis.registry.service import Registry
from axis.route.broker import BrokerPort
from axis.route.channels import Channels, InboxChannel, QueueChannel
from axis.route.channels.peer import PeerChannel
from axis.route.exchange import Checked, Exchange, PeerAdmission
from axis.route.model import Delivery, DeliveryState
from axis.route.worker import Worker
from axis.settings import Settings
from axis.trust import setup as trust_setup
from axis.trust.bindings import AnyBinding, SubjectAttributeBindings
from axis.trust.sign import NodeSigner, node_signer
from axis.trust.signed import verify_and_read
from axis.trust.verdict import fingerprint


@dataclass(slots=True)
class Node:
    settings: Settings
    engine: Engine
    registry: Registry
    store: SqlRouteStore
    broker: BrokerPort
    exchange: Exchange
    worker: Worker
    trust: trust_setup.TrustStage
    signer: NodeSigner
    calendar: WorkCalendar
    metrics: NodeMetrics
    pusher: PushDeliverer  # the push channel (admin: attempts, requeue)
    http: httpx.Client
    agency: AgencyOperations  # what the agency API's edges (REST, SOAP) call
    peers: SqlPeerStore  # federation (issue 10): the peers' records
    forwarding: PeerChannel  # copies for agencies other nodes serve
    intake: PeerIntake  # what peers bring
    peer_admin: PeerAdmin  # axis peer …, /admin/v1/peers
    peer_link: VdxpLink
    access: AccessJournal  # issue 11, item 4: who searched, viewed, exported (admin API, console)

    @property
    def channels(self) -> Channels:
        """The delivery channels by mode, whose passes the background's push loop runs
        (adapters/jobs/catalog.py). Built from the node's parts when asked, so a part
        replaced after start-up (tests swap `pusher`) is the one that runs."""
        return delivery_channels(self.registry, self.pusher, self.exchange.clock,
                                 self.settings, self.forwarding)

    def close(self) -> None:
        self.http.close()
        self.peer_link.close()
        self.broker.close()
        self.store.engine.dispose()
        self.engine.dispose()


def delivery_channels(registry: Registry, pusher: PushDeliverer, clock: Clock,
                      settings: Settings, forwarding: PeerChannel) -> Channels:
    """One channel per delivery mode (axis/route/channels): pull agencies take from their
    inbox, push agencies get POSTs from it, `amqp` agencies consume their own queue; and
    agencies another node serves have their copies forwarded to it (issue 10)."""
    return Channels(registry, (InboxChannel(), pusher, QueueChannel()), clock=clock,
                    poll_seconds=settings.push.poll_seconds, peer=forwarding)


def make_broker(settings: Settings) -> BrokerPort:
    if not settings.broker_url:
        return InProcessBroker()
    from adapters.amqp.rabbit import RabbitBroker

    return RabbitBroker(settings.broker_url, prefix=settings.broker_prefix,
                        layout=settings.broker_layout)


def trust_stage_for(
    stage: trust_setup.TrustStage, validator: Validator
) -> Callable[..., Checked]:
    """(raw, at) → Checked, and (raw, at, PeerAdmission) for a peer's package."""

    def check(raw: bytes, at: datetime, peer: PeerAdmission | None = None) -> Checked:
        # A peer's package is judged with that peer's admission list added (issue 10).
        policy = (stage.policy if peer is None
                  else stage.policy.for_peer(peer.peer, peer.admits))
        trusted = verify_and_read(raw, at, verifier=stage.verifier, validator=validator,
                                  policy=policy)
        signer = trusted.verdict.signer
        return Checked(
            package=trusted.package,
            signature=trusted.verdict.state.value,
            signer_fingerprint=signer.fingerprint if signer else "",
            warnings=tuple(trusted.check.warnings) + trusted.admission.warnings,
        )

    return check


def build_node(
    settings: Settings,
    *,
    clock: Clock | None = None,
    new_id: Callable[[], str] | None = None,
    broker: BrokerPort | None = None,
) -> Node:
    clk = clock or SystemClock()
    url = database_url(settings.database_url, settings.data_dir)
    engine = make_engine(url, pool_size=settings.database_pool_size)
    upgrade(engine)
    # The route store serialises SQLite writers with BEGIN IMMEDIATE on its own engine;
    # registry reads keep plain deferred transactions, so WAL lets them run alongside.
    route_engine = make_engine(url, pool_size=settings.database_pool_size)
    registry = Registry(SqlRegistryStore(engine), clk, province=settings.province)
    validator = Validator(settings.edxml)
    # Whose key (issue 3): a certificate speaks for the agency its subject names (when it
    # chains to an installed anchor) or for the agency an administrator bound it to.
    # And a peer node's own certificate for the agencies that peer serves (issue 10).
    peers = SqlPeerStore(engine)
    bindings = AnyBinding(SubjectAttributeBindings(), RegistryBindings(registry),
                          PeerBindings(peers.list, registry.list))
    stage = trust_setup.build(settings, clk.now(), bindings=bindings)
    signer = node_signer(settings, clk.now())
    calendar = load_calendar(settings.clock.calendar_file)
    store = SqlRouteStore(route_engine)
    the_broker = broker or make_broker(settings)
    metrics = NodeMetrics()
    checker = trust_stage_for(stage, validator)
    exchange = MeteredExchange(
        store=store,
        blobs=FileBlobs(settings.data_dir / "packages"),
        broker=the_broker,
        directory=registry,
        trust=checker,
        peer_trust=checker,
        signer=signer,
        calendar=calendar,
        clock=clk,
        new_id=new_id or (lambda: str(uuid.uuid4())),
        metrics=metrics,
        # Issue 11: refused packages' bytes, kept apart for `axis audit replay`.
        evidence=refused_evidence(settings, route_engine),
    )

    # Pushes are signed with the agency's own credential secret, derived from the master
    # key the agency API verifies with (adapters/push/signing.py).
    @functools.cache
    def master_key() -> bytes:  # read (or made) on the first push, not at start-up
        return keys.master_key(settings)

    def secret_for(system_id: str) -> str:
        return signing.derive_secret(master_key(), system_id)

    http = httpx.Client(timeout=settings.push.timeout_seconds, follow_redirects=False)
    pusher = PushDeliverer(
        exchange=exchange, directory=registry, http=http, secret_for=secret_for, clock=clk,
        random=random.SystemRandom().random, settings=settings.push,
        attempts=PushAttempts(route_engine), observer=metrics)
    # Federation (issue 10): forwarding to the peers serving external agencies, and the
    # intake of what they bring; one client for every peer.
    link = VdxpLink(httpx.Client(timeout=settings.federation.timeout_seconds,
                                 follow_redirects=False), clk.now,
                    require_https=settings.federation.require_https)
    forwarding = PeerChannel(exchange=exchange, peers=peers, link=link,
                             attempts=PushAttempts(route_engine), clock=clk,
                             random=random.SystemRandom().random,
                             settings=settings.federation)
    # The node moves deliveries into inboxes for the modes whose channel hands over from
    # there (pull, push, peers); `amqp` agencies consume their queue.
    consumed_agencies = delivery_channels(registry, pusher, clk, settings,
                                          forwarding).inbox_agencies

    # The embedded default (no broker given, none configured) delivers straight from the
    # outbox, which is then its durable queue (docs/broker.md); the in-process broker
    # stays for what is injected in tests and for the port's operator calls.
    worker = Worker(exchange, consumed_agencies,
                    direct=broker is None and not settings.broker_url,
                    reconcile_after=timedelta(
                        seconds=settings.delivery.reconcile_after_seconds),
                    reconcile_limit=settings.delivery.reconcile_batch,
                    # Never waits on a step in flight: the journal.seal job claims gaps.
                    seal=functools.partial(store.seal_journal, claim_gaps=False))
    agency = AgencyOperations(exchange=exchange, directory=registry, trails=store,
                              max_package_bytes=settings.edxml.max_package_bytes,
                              on_queued=worker.wake.set)
    # Routing by province code (issue 10): unknown identifiers a peer's province claims.
    provinces = ProvinceRouter(peers.list, registry, own_province=settings.province)
    exchange.resolve_unknown = provinces.resolve
    intake = PeerIntake(exchange=exchange, peers=peers, link=link, directory=registry,
                        clock=clk, on_queued=worker.wake.set,
                        resolve_unknown=provinces.resolve)

    def journal(at: datetime, kind: str, ref: str, payload: dict[str, object]) -> None:
        with store.transaction() as tx:
            tx.append_journal(at, kind, ref, payload)

    def dead_letters(recipients: Sequence[str]) -> list[Delivery]:
        with store.transaction() as tx:
            return tx.deliveries_in_state(DeliveryState.FAILED, recipients, 10_000)

    peer_admin = PeerAdmin(peers=peers, agencies=registry.list, channel=forwarding,
                           dead_letters=dead_letters, journal=journal, clock=clk)
    record_trust_settings(store, settings, stage, signer, clk.now())
    node = Node(settings, engine, registry, store, the_broker, exchange, worker, stage,
                signer, calendar, metrics, pusher, http, agency, peers, forwarding, intake,
                peer_admin, link, AccessJournal(store, clk))
    metrics.attach(scrape_sources(node))
    return node


def record_trust_settings(store: SqlRouteStore, settings: Settings,
                          stage: trust_setup.TrustStage, signer: NodeSigner,
                          at: datetime) -> None:
    """Journal the trust-relevant settings when they differ from the last record
    (axis/journal/trust_settings.py): a settings file edited between two starts is in
    the chain."""
    record = trust_settings.trust_settings(
        settings, anchors=stage.verifier.anchors.fingerprints,
        node_certificate=fingerprint(signer.cert))
    now = trust_settings.digest(record)
    last = store.last_journal_entry(trust_settings.KIND)
    if last is not None and last.payload.get("digest") == now:
        return
    with store.transaction() as tx:
        tx.append_journal(at, trust_settings.KIND, now[:16],
                          {"digest": now, "settings": record})


def refused_evidence(settings: Settings, engine: Engine) -> SqlRefusedEvidence:
    """The evidence store of refused packages (adapters/store/refused_repo.py): its own
    directory, never the package store's."""
    return SqlRefusedEvidence(engine, settings.data_dir / "refused",
                              max_bytes=settings.audit.refused_max_bytes)


def scrape_sources(node: Node) -> ScrapeSources:
    """What `/metrics` reads at scrape time, from the node's parts."""

    def deliveries() -> dict[DeliveryState, int]:
        with node.store.transaction() as tx:
            return {state: tx.count_deliveries(state) for state in DeliveryState}

    def outbox_pending() -> int:
        with node.store.transaction() as tx:
            return tx.pending_outbox()

    def queue_depths() -> dict[str, int]:
        limit = node.settings.admin.metrics_max_agencies  # bounded: one label per agency
        agencies = node.registry.list(state=AgencyState.ACTIVE)[:limit]
        return {a.agency_id: node.broker.depth(a.agency_id) for a in agencies}

    return ScrapeSources(
        now=node.exchange.clock.now,
        deliveries=deliveries,
        outbox_pending=outbox_pending,
        stranded=node.worker.stranded,
        queue_depths=queue_depths,
        certificate_expires=lambda: node.signer.cert.not_valid_after_utc,
        crl_ages=node.trust.crls.ages,
        peers=node.peer_admin.status,
    )
