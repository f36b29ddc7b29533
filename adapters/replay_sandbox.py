"""The sandbox `axis audit replay` judges packages in (axis/journal/replay.py, `Sandbox`):
a node of its own, built by `build_node` exactly as the real one is (the same Exchange,
trust stage, validator, policy and registry code), on a fresh SQLite database and a
package store in a temporary directory, the in-process broker, a clock set to each
package's recorded time and ids from a counter. Nothing of it touches the real node.

What it takes from where (docs/operations.md, "Replay"):
- the registry: empty, then rebuilt from the real registry's history, change by change;
- the trust settings recorded then (`node.trust_settings`): the unsigned-sender admission
  list, SHA-1, require_crl and the CRL age limit; the anchors and the CRL files are
  today's (the record holds only their fingerprints and paths), the CRLs taken as loaded
  at each package's time (revocation is judged as of that time: axis/trust/crl.py);
- the peers (their admission lists and certificates): today's, they have no history;
- the node's key: the real node's (its statuses are signed, never compared);
- everything else (validation rules and limits, the calendar): today's settings.
"""

from __future__ import annotations

import itertools
import tempfile
from datetime import datetime
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine

from adapters.amqp.memory import InProcessBroker
from adapters.node import Node, build_node, trust_stage_for
from adapters.store.peer_repo import SqlPeerStore
from adapters.store.replay_source import copies_of
from axis.clock import as_vietnam
from axis.edxml.model import StatusPackage
from axis.edxml.validate import Validator
from axis.errors import AxisError
from axis.journal.replay import Decision, Judged, TrustRecord
from axis.registry import codec
from axis.registry.model import AgencyChange
from axis.route.exchange import PeerAdmission
from axis.route.keys import document_id_of
from axis.settings import Settings
from axis.trust import setup as trust_setup


class ReplayClock:
    """The sandbox's clock: the recorded time of the step being replayed."""

    def __init__(self, at: datetime) -> None:
        self._at = as_vietnam(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_vietnam(at)


def sandbox_settings(settings: Settings, data_dir: Path) -> Settings:
    """Today's settings on a data directory of the sandbox's own: the embedded database
    and broker, the real node's key, and no refused bytes kept."""
    trust = settings.trust
    if trust.node_key is None:
        own = settings.data_dir / "node"
        if (own / "node.key").is_file() and (own / "node.pem").is_file():
            trust = trust.model_copy(update={"node_key": own / "node.key",
                                             "node_cert": own / "node.pem"})
    return settings.model_copy(update={
        "data_dir": data_dir, "database_url": "", "broker_url": "", "trust": trust,
        "audit": settings.audit.model_copy(update={"refused_max_bytes": 0}),
    })


class NodeSandbox:
    """A `Sandbox`; use it as a context manager (the temporary directory is removed)."""

    def __init__(self, settings: Settings, real: Engine, start: datetime) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="axis-replay-")
        self._settings = sandbox_settings(settings, Path(self._dir.name))
        self._clock = ReplayClock(start)
        ids = itertools.count(1)
        self.node: Node = build_node(self._settings, clock=self._clock,
                                     new_id=lambda: f"replay-{next(ids):08d}",
                                     broker=InProcessBroker())
        self._stage = self.node.trust
        self._validator = Validator(self._settings.edxml)
        self._peers = {p.name: p for p in SqlPeerStore(real).list()}
        self.notes: list[str] = []  # what of the configuration then could not be had
        for peer in sorted(self._peers.values(), key=lambda p: p.name):
            self.node.peers.add(peer)

    def __enter__(self) -> NodeSandbox:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.node.close()
        self._dir.cleanup()

    # --- Sandbox --------------------------------------------------------------------------
    def restore(self, change: AgencyChange) -> None:
        after = change.after
        if not isinstance(after, dict) or "agency_id" not in after:
            return  # a credential's issue or revocation: the pipeline never reads them
        try:
            agency = codec.merge(None, codec.parse_fields(after))
            self.node.registry.restore(agency, change)
        except (ValueError, AxisError) as exc:
            # An entry the registry of today cannot read, or one of an import's changes
            # that only holds with the others (a certificate moved between agencies):
            # named in the report, the replay goes on with the registry it has.
            self.notes.append(f"registry history of {change.agency_id} at "
                              f"{change.at.isoformat()} ({change.action}) not restored: "
                              f"{getattr(exc, 'detail', exc)}")

    def configure(self, record: TrustRecord) -> None:
        then = record.settings
        update: dict[str, object] = {}
        for key in ("allow_sha1", "require_crl", "crl_max_age_hours"):
            if key in then:
                update[key] = then[key]
        admitted = then.get("admit_unsigned")
        if isinstance(admitted, list):
            update["admit_unsigned"] = tuple(str(a) for a in admitted)
        settings = self._settings.model_copy(
            update={"trust": self._settings.trust.model_copy(update=update)})
        self._differs(record, "anchors", sorted(self._stage.verifier.anchors.fingerprints),
                      "the trust anchors differ from those recorded then: today's are used")
        self._differs(record, "crl_files", sorted(str(f) for f in settings.trust.crl_files),
                      "the CRL files differ from those recorded then: today's are used")
        self._differs(record, "crl_urls", sorted(settings.trust.crl_urls),
                      "the CRL URLs differ from those recorded then: today's cached "
                      "copies are used")
        self._clock.set(record.at)
        # Built as the node builds it, with the registry's certificate bindings.
        self._stage = trust_setup.build(settings, record.at,
                                        bindings=self.node.trust.verifier.bindings)
        checker = trust_stage_for(self._stage, self._stage.validator)
        self.node.exchange.trust = checker
        self.node.exchange.peer_trust = checker

    def _differs(self, record: TrustRecord, key: str, today: list[str], note: str) -> None:
        then = record.settings.get(key)
        if isinstance(then, list) and sorted(str(v) for v in then) != today:
            line = f"{note} (trust settings record seq {record.seq})"
            if line not in self.notes:
                self.notes.append(line)

    def judge(self, raw: bytes, at: datetime, *, peer: str = "") -> Judged:
        self._clock.set(at)
        # The CRLs as loaded at this time: freshness is not what a replay judges.
        self._stage.refresher.start(at)
        known = self._peers.get(peer) if peer else None
        admits = (PeerAdmission(known.name, frozenset(known.admit_unsigned))
                  if known is not None else None)
        try:
            receipt = self.node.exchange.submit(raw, peer_admits=admits,
                                                local_only=admits is not None)
        except AxisError as exc:
            return self._refused(raw, exc)
        with self.node.store.engine.connect() as conn:
            recipients, _ = copies_of(conn, receipt.package_sha256)
        return Judged(Decision(True, "", recipients), receipt.sender_id, receipt.document_id)

    def effective_receipt_time(self, at: datetime) -> datetime:
        return self.node.calendar.effective_receipt_time(at)

    def _refused(self, raw: bytes, exc: AxisError) -> Judged:
        """The refusal, with whom the package names as far as it can be read (the
        report's filters apply to refused packages too)."""
        decision = Decision(False, exc.code.id)
        package = self._validator.check(raw).package
        if package is None:
            return Judged(decision)
        if isinstance(package, StatusPackage):
            named: tuple[str, ...] = (package.header.response_for.organ_id,)
        else:
            named = tuple(o.organ_id for o in package.header.recipients)
        return Judged(decision, package.sender_id, document_id_of(package),
                      tuple(sorted(set(named))))
