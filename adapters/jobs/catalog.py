"""What the node runs in the background: its loops and its periodic jobs.

Add a periodic job by appending a `Job` to `node_jobs`; it is scheduled wherever the
node's background runs (`axis worker`, or `axis serve` without `--no-background`), and in
HTTP-only processes too when it is marked `every_process`; it is reported on /readyz,
/health/delivery and /metrics by its name. A job may run in several processes at once
(several workers on one database): make it safe for that, or say why it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.federation.snapshot_http import snapshots_for
from adapters.federation.sync_setup import registry_sync_for
from adapters.jobs.scheduler import Job
from adapters.logs import get_logger
from adapters.node import Node
from adapters.store.auth_state import SqlAdmission
from adapters.task_parts import task_parts
from axis import errors
from axis.auth.ratelimit import Bucket
from axis.federation.model import Peer, PeerKind
from axis.health import LoopGuard
from axis.settings import Settings

log = get_logger("axis.jobs")

# A loop is late when no pass completed for this long. The delivery pass relays until the
# outbox is empty, which under a burst takes a while; a push pass may wait on a timeout
# per push agency.
DELIVERY_LATE_AFTER = timedelta(minutes=2)
PUSH_LATE_AFTER_TIMEOUTS = 10


@dataclass(frozen=True, slots=True)
class Loop:
    """A thread running `run(stop, guard)` until `stop` is set."""

    name: str
    run: Callable[[threading.Event, LoopGuard], None]
    expected_every: timedelta


def node_loops(node: Node, settings: Settings | None = None) -> list[Loop]:
    """`settings`: the server's (whether it runs the push loop), the node's by default."""
    push = (settings or node.settings).push
    loops = [Loop("delivery", node.worker.run, DELIVERY_LATE_AFTER)]
    if push.enabled:
        timeout = timedelta(seconds=push.timeout_seconds)
        # The delivery channels' passes (axis/route/channels): only push has work after
        # AVAILABLE today, hence the loop's name, which health and metrics report.
        loops.append(Loop("push", node.channels.run,
                          max(DELIVERY_LATE_AFTER, PUSH_LATE_AFTER_TIMEOUTS * timeout)))
    return loops


ORPHANS_EVERY = timedelta(hours=1)
AUTH_PURGE_EVERY = timedelta(minutes=1)
AUTH_PURGE_LATE_AFTER = timedelta(hours=2)
SEAL_EVERY = timedelta(seconds=1)
SEAL_LATE_AFTER = timedelta(minutes=1)
POLL_LATE_AFTER = timedelta(hours=1)
RECONCILE_SENT_EVERY = timedelta(hours=1)
REFUSED_JOB = "audit.refused"
REFUSED_EVERY = timedelta(hours=6)


def node_jobs(node: Node) -> list[Job]:
    delivery = node.settings.delivery
    return [
        # Every process: each verifies with its own CRL store (HTTP processes above all).
        Job("trust.crl_refresh", timedelta(hours=node.settings.trust.crl_refresh_hours),
            crl_refresh(node), every_process=True),
        # At start too: what a crashed node left stranded moves on without waiting a period.
        Job("delivery.reconcile", timedelta(seconds=delivery.reconcile_every_seconds),
            reconcile(node), at_start=True),
        Job("store.orphans", ORPHANS_EVERY, collect_orphans(node)),
        # Issue 11: refused packages' bytes past their retention, and files no row names.
        # Safe in several processes: each deletes what expired; a file is discarded only
        # when still untouched (adapters/store/blobs.py).
        Job(REFUSED_JOB, REFUSED_EVERY, prune_refused(node)),
        # Safe in several processes at once: each run deletes what expired, nothing else.
        # A missed run only lets the tables grow: late after two hours without a purge.
        Job("auth.purge", AUTH_PURGE_EVERY, auth_purge(node),
            expected_every=AUTH_PURGE_LATE_AFTER),
        # Every second: the journal's unsealed tail stays short (route_journal.py). Late
        # only when no pass succeeded for a minute (a burst, or a broken journal).
        Job("journal.seal", SEAL_EVERY, seal_journal(node), expected_every=SEAL_LATE_AFTER,
            at_start=True),
        # Issue 11: a signed checkpoint of the sealed journal, kept and exported as a file.
        # Safe in several processes: one row per seal head, the second taker keeps none.
        Job(CHECKPOINT_JOB, timedelta(seconds=node.settings.audit.checkpoint_every_seconds),
            checkpoint_journal(node)),
        # Issue 12: tasks tracked from the journal (axis/tasks/tracker.py). Safe in several
        # processes: the cursor row is locked for a pass, a second worker skips its pass.
        Job(TRACK_JOB, timedelta(seconds=node.settings.tasks.track_every_seconds),
            track_tasks(node), at_start=True,
            expected_every=max(SEAL_LATE_AFTER, 4 * timedelta(
                seconds=node.settings.tasks.track_every_seconds))),
    ] + ([
        # Issue 12, item 4: deadline reminders as node-signed notices, exactly once per
        # (task, reminder): recorded in the transaction that queues the notice.
        Job(REMIND_JOB, timedelta(seconds=node.settings.tasks.remind_every_seconds),
            remind_tasks(node)),
    ] if node.settings.tasks.reminders else []) + ([
        # Issue 10: what the peers hold for this node, taken into the pipeline. Safe in
        # several processes: an item taken twice is a duplicate, acknowledged `done`.
        # Late only after an hour without a run: a peer that is down is the peer's own
        # signal (axis peer status, /readyz), not this job's.
        Job("federation.poll", timedelta(seconds=node.settings.federation.poll_seconds),
            poll_peers(node), at_start=True,
            expected_every=max(POLL_LATE_AFTER, 4 * timedelta(
                seconds=node.settings.federation.poll_seconds))),
        # Issue 10, item 3: forwarded copies against the national axis's sent list. Only
        # reads and journals: safe anywhere, a second run reports the same.
        Job("federation.reconcile_sent", RECONCILE_SENT_EVERY, reconcile_sent(node),
            expected_every=4 * RECONCILE_SENT_EVERY),
        # Issue 10, item 1: the national axis's registry read into ours. Safe in several
        # processes: each change goes through the registry, a repeated run finds nothing.
        Job("federation.registry_sync",
            timedelta(hours=node.settings.federation.registry_sync_hours),
            registry_sync(node)),
        # Issue 10, item 5: each Axis peer's signed registry snapshot. Safe in several
        # processes: a version already held is refused, the newer record wins.
        Job("federation.snapshots",
            timedelta(hours=node.settings.federation.snapshot_hours),
            peer_snapshots(node)),
    ] if node.settings.federation.enabled else [])


def each_peer(node: Node, kind: PeerKind, what: str,
              step: Callable[[Peer, datetime], None]) -> Callable[[datetime], None]:
    """A job run over every active peer of `kind`: a peer that fails is logged and fails
    the run after the others had their turn."""

    def run(at: datetime) -> None:
        failed: list[str] = []
        for peer in node.peers.list():
            if not peer.active or peer.kind is not kind:
                continue
            try:
                step(peer, at)
            except errors.AxisError as exc:
                log.warning(f"{what} failed", peer=peer.name, code=exc.code.id,
                            detail=exc.detail)
                failed.append(peer.name)
        if failed:
            raise errors.PEER_UNREACHABLE.error(f"{what} failed: {', '.join(failed)}")

    return run


def registry_sync(node: Node) -> Callable[[datetime], None]:
    """Sync the registry from every active peer of kind vdxp (another Axis node's
    listener has no registry to read)."""
    sync = registry_sync_for(node)

    def step(peer: Peer, at: datetime) -> None:
        report = sync.sync(peer.name)
        log.info("registry synced", peer=peer.name, **report.counts())

    return each_peer(node, PeerKind.VDXP, "registry sync", step)


def peer_snapshots(node: Node) -> Callable[[datetime], None]:
    """Pull the snapshot of every active peer of kind axis. An unchanged registry there
    (the version held) is not a failure; one that cannot be read or is refused is."""
    snapshots = snapshots_for(node)

    def step(peer: Peer, at: datetime) -> None:
        report = snapshots.refresh(peer.name)
        if report is not None:  # None: the version already held, nothing moved there
            log.info("peer snapshot taken", peer=peer.name, version=report.held.version,
                     sha256=report.held.sha256, **report.sync.counts())

    return each_peer(node, PeerKind.AXIS, "peer snapshot", step)


def reconcile_sent(node: Node) -> Callable[[datetime], None]:
    """Check the copies forwarded to each vdxp peer against its getSentEdocList
    (axis/federation/sent.py)."""
    from axis.federation.sent import SentReconciler

    reconciler = SentReconciler(exchange=node.exchange, peers=node.peers,
                                link=node.peer_link, agencies=node.registry.list,
                                clock=node.exchange.clock)

    def step(peer: Peer, at: datetime) -> None:
        reconciler.reconcile(peer, at)

    return each_peer(node, PeerKind.VDXP, "peer sent list", step)


def poll_peers(node: Node) -> Callable[[datetime], None]:
    """Poll every active peer (axis/federation/intake.py); a peer that cannot be reached
    is recorded on the peer (its `failing_since` drives /readyz), not a failed run."""

    def run(at: datetime) -> None:
        report = node.intake.poll_all()
        if report.accepted or report.duplicates or report.refused:
            log.info("peers polled", accepted=report.accepted,
                     duplicates=report.duplicates, refused=report.refused)
        if report.failed_peers:
            log.warning("peers unreachable", peers=list(report.failed_peers))

    return run


def seal_journal(node: Node) -> Callable[[datetime], None]:
    """Chain the committed journal entries in seq order (adapters/store/route_journal.py);
    a journal that cannot be chained fails the run with node.journal_broken."""

    def run(at: datetime) -> None:
        done = node.store.seal_journal(at)
        if done.gaps:
            log.info("journal numbers of rolled-back steps sealed", count=done.gaps)
        if done.broken:
            raise errors.JOURNAL_BROKEN.error(done.broken)

    return run


CHECKPOINT_JOB = "journal.checkpoint"


def checkpoint_journal(node: Node) -> Callable[[datetime], None]:
    """Seal, then sign a checkpoint of the seal head (adapters/store/checkpoints.py); a
    journal cut below a checkpoint already held fails the run with node.journal_truncated
    and nothing is signed over it. Also run once when the background stops."""
    from adapters.store.checkpoints import SqlCheckpoints, export_dir

    checkpoints = SqlCheckpoints(node.store.engine, export_dir(node.settings))

    def run(at: datetime) -> None:
        done = node.store.seal_journal(at)
        if done.broken:
            raise errors.JOURNAL_BROKEN.error(done.broken)
        taken = checkpoints.take(at, node.signer)
        if taken.new:
            log.info("journal checkpoint signed", seq=taken.checkpoint.seq,
                     head=taken.checkpoint.head, path=str(taken.path))

    return run


TRACK_JOB = "tasks.track"
REMIND_JOB = "tasks.remind"


def track_tasks(node: Node) -> Callable[[datetime], None]:
    """Seal the journal's committed tail (without claiming gaps: the journal.seal job
    does), then read it into the tasks (axis/tasks/tracker.py) until caught up."""
    tracker = task_parts(node).tracker

    def run(at: datetime) -> None:
        node.store.seal_journal(at, claim_gaps=False)
        changed = tracker.run()
        if changed:
            log.info("tasks tracked", changed=changed)

    return run


def remind_tasks(node: Node) -> Callable[[datetime], None]:
    """Send the task reminders due since the last pass (axis/tasks/reminding.py)."""
    reminders = task_parts(node).reminders

    def run(at: datetime) -> None:
        sent = reminders.run_once()
        if sent:
            node.worker.wake.set()
            log.info("task reminders sent", count=sent)

    return run


def needed(node: Node, settings: Settings | None = None) -> list[tuple[str, str]]:
    """(name, kind) of every loop and job some process of the node must run."""
    return ([(loop.name, "loop") for loop in node_loops(node, settings)]
            + [(job.name, "job") for job in node_jobs(node)])


def reconcile(node: Node) -> Callable[[datetime], None]:
    """Republish stranded deliveries, emit deferred 01s (axis/route/reconcile.py)."""

    def run(at: datetime) -> None:
        report = node.worker.reconcile(at)
        if report.waiting:
            log.info("reconciliation skipped agencies with a backlog",
                     agencies=list(report.waiting))

    return run


def auth_purge(node: Node) -> Callable[[datetime], None]:
    """Forget expired request signatures and idle (full) rate-limit buckets, shared by
    every process in the database (adapters/store/auth_state.py)."""
    r = node.settings.rest
    admission = SqlAdmission(node.engine, Bucket(r.rate_per_minute, r.burst))

    def run(at: datetime) -> None:
        gone = admission.purge(at.timestamp())
        if gone:
            log.debug("auth state purged", rows=gone)

    return run


def collect_orphans(node: Node) -> Callable[[datetime], None]:
    """Delete package bytes that no committed row refers to (refused or rolled back)."""

    def run(at: datetime) -> None:
        removed = node.exchange.collect_orphans(at)
        if removed:
            log.info("orphan package files removed", count=removed)

    return run


def prune_refused(node: Node) -> Callable[[datetime], None]:
    """Delete the evidence of refused packages older than `audit.refused_retention_days`
    (adapters/store/refused_repo.py)."""
    from adapters.store.refused_repo import SqlRefusedEvidence

    retention = timedelta(days=node.settings.audit.refused_retention_days)

    def run(at: datetime) -> None:
        evidence = node.exchange.evidence
        if isinstance(evidence, SqlRefusedEvidence):
            done = evidence.prune(at, retention=retention)
            if done.rows or done.files:
                log.info("refused evidence pruned", rows=done.rows, files=done.files)

    return run


def crl_refresh(node: Node) -> Callable[[datetime], None]:
    """Reload the CRL files, fetch the CRL URLs (axis/trust/crl.py). A source that fails
    keeps its last good list (stale after `trust.crl_max_age_hours`: readiness then says
    so); the run counts as failed, with the first problem's code."""

    def run(at: datetime) -> None:
        report = node.trust.refresher.run(at)
        for problem in report.problems:
            log.warning("crl source failed", code=problem.code.id, detail=problem.detail)
        if report.problems:
            first = report.problems[0]
            raise first.code.error(
                f"{len(report.problems)} CRL source(s) failed; first: {first.detail}")
        log.info("crls refreshed", sources=report.loaded)

    return run
