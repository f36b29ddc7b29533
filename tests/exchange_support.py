"""A real node for end-to-end routing tests: the seeded Lạng Sơn registry, a test CA whose
certificates name their agencies, packages built and signed with real keys, a fixed clock
and predictable ids. Storage and broker are whatever the test passes (SQLite and the
in-process broker by default)."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from adapters.node import Node, build_node
from axis.clock import VN_TZ, FixedClock
from axis.edxml.model import (
    Attachment,
    Business,
    BusinessType,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    Organ,
    OtherInfo,
    Priority,
    Reference,
    ResponseFor,
    StatusCode,
    StatusHeader,
    StatusPackage,
)
from axis.edxml.writer import build
from axis.packaged import SEED_REGISTRY_FILE
from axis.registry import codec
from axis.route.broker import BrokerPort
from axis.settings import Settings, TrustSettings
from axis.trust import pki
from axis.trust.sign import NodeSigner

UBND = "000.00.00.H37"  # Ủy ban nhân dân tỉnh Lạng Sơn
NOI_VU = "000.00.02.H37"
TAI_CHINH = "000.00.03.H37"
KE_HOACH = "000.00.04.H37"
TU_PHAP = "000.00.05.H37"
SIGNERS = (UBND, NOI_VU, TAI_CHINH, KE_HOACH, TU_PHAP)
SEED = SEED_REGISTRY_FILE
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=VN_TZ)  # a Tuesday, inside the morning session


def seed_agency_ids() -> list[str]:
    """Every agency of the seeded registry: a worker declares a queue for each, so a
    test's broker teardown deletes them all (quorum queues above all: a few hundred left
    behind stop RabbitMQ from accepting connections on a default file limit)."""
    return [str(row.fields["agency_id"])
            for row in codec.load_json(SEED.read_text(encoding="utf-8"))]


def make_pki(directory: Path) -> Path:
    """A CA and one certificate per signing agency; returns the anchors directory."""
    pki.init_ca(directory, T0.replace(year=2025))
    for agency_id in SIGNERS:
        pki.issue(directory, agency_id, T0.replace(year=2025), days=3 * 365)
    anchors = directory / "anchors"
    anchors.mkdir()
    shutil.copy(directory / "ca.pem", anchors / "ca.pem")
    return anchors


@dataclass
class TestNode:
    __test__ = False  # a helper, not a test class

    node: Node
    clock: FixedClock
    pki_dir: Path
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _signers: dict[str, NodeSigner] = field(default_factory=dict)

    def signer(self, agency_id: str) -> NodeSigner:
        if agency_id not in self._signers:
            self._signers[agency_id] = NodeSigner.from_files(
                self.pki_dir / f"{agency_id}.key", self.pki_dir / f"{agency_id}.pem")
        return self._signers[agency_id]

    def document(
        self, sender: str, recipients: tuple[str, ...], number: int, *,
        priority: Priority = Priority.NORMAL, business: Business | None = None,
        document_id: str | None = None,
        attachment: tuple[str, str, bytes] = ("van-ban.pdf", "application/pdf", PDF),
        signed: bool = True,
    ) -> tuple[str, bytes]:
        day = self.clock.now().date()
        doc_id = document_id or f"{sender},{day:%Y/%m/%d},{number}/UBND-VP"
        package = DocumentPackage(
            header=DocumentHeader(
                sender=Organ(sender),
                recipients=tuple(Organ(r) for r in recipients),
                document_id=doc_id,
                code=DocCode(str(number), "UBND-VP"),
                promulgation_date=date.fromisoformat(doc_id.split(",")[1].replace("/", "-")),
                subject=f"Văn bản số {number} về việc thử nghiệm trục liên thông",
                other=OtherInfo(priority=priority),
            ),
            business=business,
            references=(Reference("a1", attachment[1], attachment[0]),),
            attachments=(Attachment("a1", attachment[0], attachment[1], data=attachment[2]),),
        )
        raw = build(package)
        return doc_id, self.signer(sender).sign(raw) if signed else raw

    def status(
        self, sender: str, original_sender: str, document_id: str, code: StatusCode,
        description: str = "",
    ) -> bytes:
        package = StatusPackage(header=StatusHeader(
            sender=Organ(sender),
            response_for=ResponseFor(organ_id=original_sender, document_id=document_id),
            status_code=code, description=description, timestamp=self.clock.now(),
        ))
        return self.signer(sender).sign(build(package))

    def recall_document(self, sender: str, recipients: tuple[str, ...], target: str,
                        number: int) -> bytes:
        business = Business(doc_type=BusinessType.REVOKE, reason="Thu hồi văn bản",
                            document_id=target)
        return self.document(sender, recipients, number, business=business,
                             document_id=target)[1]

    def deliver_all(self) -> int:
        return self.node.worker.run_once()


def start_node(tmp: Path, pki_dir: Path, anchors: Path, *, broker: BrokerPort | None = None,
               database_url: str = "", broker_url: str = "") -> TestNode:
    settings = Settings(
        data_dir=tmp / "var", database_url=database_url, broker_url=broker_url,
        trust=TrustSettings(anchors_dir=anchors),
    )
    clock = FixedClock(T0)
    ids = itertools.count(1)
    node = build_node(settings, clock=clock, new_id=lambda: f"t-{next(ids):06d}",
                      broker=broker)
    node.registry.import_rows(codec.load_json(SEED.read_text(encoding="utf-8")),
                              actor="test", reason="seed", only_new=True)
    return TestNode(node, clock, pki_dir)
