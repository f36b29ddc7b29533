"""`axis demo`: a scripted exchange between simulated agencies of Lạng Sơn, in one command.

Everything is real except the agencies' people and the clock: a node on the embedded
default (SQLite and the in-process broker in a fresh directory), its REST API served by
uvicorn on 127.0.0.1, a test CA whose certificates name each agency, packages built and
signed with those keys, and agency clients that sign every request (HMAC). The clock is
simulated so that the office-hours case (Art. 11.2) happens at a known instant; every
time printed is that clock's, in ISO 8601 Vietnam time. Ids are drawn from a fixed
sequence, so two runs print the same table, and the node, its test CA and the agencies'
private keys live in a temporary directory removed at the end (unless `--dir` keeps them).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

from adapters.client.agency import AgencyClient
from adapters.node import Node, build_node
from adapters.rest.app import create_app
from axis.clock import VN_TZ, FixedClock, iso
from axis.edxml.model import (
    Attachment,
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
from axis.settings import PushSettings, Settings, TrustSettings
from axis.trust import pki
from axis.trust.sign import NodeSigner

START = datetime(2026, 11, 24, 9, 0, tzinfo=VN_TZ)  # a Tuesday, in the morning session
AGENCIES = {
    "000.00.00.H37": "UBND tỉnh",
    "000.00.02.H37": "Sở Nội vụ",
    "000.00.03.H37": "Sở Tài chính",
    "000.00.04.H37": "Sở Kế hoạch và Đầu tư",
    "000.00.05.H37": "Sở Tư pháp",
}
UBND, NOI_VU, TAI_CHINH, KE_HOACH, TU_PHAP = AGENCIES
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
_ID_NAMESPACE = uuid.UUID("6f1c3b9e-2d4a-5e8f-9a0b-1c2d3e4f5a6b")


def _fixed_ids() -> Callable[[], str]:
    """The node's ids (transport ids, error ids) from a fixed sequence: printed ids and
    orders that depend on them are the same in every run."""
    counter = itertools.count(1)
    lock = threading.Lock()  # handlers run on uvicorn's thread pool

    def new_id() -> str:
        with lock:
            n = next(counter)
        return str(uuid.uuid5(_ID_NAMESPACE, f"axis-demo-{n}"))

    return new_id


@dataclass
class Row:
    at: datetime
    agency: str
    step: str
    acknowledgement: str


@dataclass
class Demo:
    node: Node
    clock: FixedClock
    pki_dir: Path
    clients: dict[str, AgencyClient] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def at(self, hour: int, minute: int) -> None:
        target = START.replace(hour=hour, minute=minute)
        if target > self.clock.now():
            self.clock.advance(target - self.clock.now())

    def log(self, agency: str, step: str, ack: str) -> None:
        self.deliver()  # what this step queued reaches its inbox at this step's time
        self.rows.append(Row(self.clock.now(), AGENCIES.get(agency, agency), step, ack))

    def signer(self, agency: str) -> NodeSigner:
        return NodeSigner.from_files(self.pki_dir / f"{agency}.key", self.pki_dir / f"{agency}.pem")

    def document(self, sender: str, to: tuple[str, ...], number: int,
                 priority: Priority = Priority.NORMAL) -> tuple[str, bytes]:
        day: date = self.clock.now().date()
        doc_id = f"{sender},{day:%Y/%m/%d},{number}/UBND-VP"
        package = DocumentPackage(
            header=DocumentHeader(
                sender=Organ(sender, name=AGENCIES[sender]),
                recipients=tuple(Organ(r, name=AGENCIES[r]) for r in to),
                document_id=doc_id, code=DocCode(str(number), "UBND-VP"),
                promulgation_place="Lạng Sơn", promulgation_date=day,
                subject=f"Văn bản {number}/UBND-VP về triển khai trục liên thông văn bản",
                other=OtherInfo(priority=priority)),
            references=(Reference("vb", "application/pdf", f"{number}-UBND-VP.pdf"),),
            attachments=(Attachment("vb", f"{number}-UBND-VP.pdf", "application/pdf",
                                    data=PDF),),
        )
        return doc_id, self.signer(sender).sign(build(package))

    def status(self, sender: str, original: str, doc_id: str, code: StatusCode,
               reason: str = "") -> bytes:
        package = StatusPackage(header=StatusHeader(
            sender=Organ(sender, name=AGENCIES[sender]),
            response_for=ResponseFor(organ_id=original, document_id=doc_id),
            status_code=code, description=reason, timestamp=self.clock.now()))
        return self.signer(sender).sign(build(package))

    def deliver(self) -> None:
        self.node.worker.run_once()

    def take(self, agency: str, doc_id: str) -> dict[str, str]:
        item = next(i for i in self.clients[agency].pull() if i["document_id"] == doc_id
                    and i["message_type"] == "edoc")
        _, headers = self.clients[agency].get(item["doc_id"])
        return {"doc_id": item["doc_id"], **{k.lower(): v for k, v in headers.items()}}


def _receipt(r: dict[str, Any]) -> str:
    ids = ", ".join(d["doc_id"][:8] for d in r["deliveries"])
    return f"accepted ({len(r['deliveries'])} transport id: {ids})"


def script(d: Demo) -> None:
    c = d.clients
    doc, raw = d.document(UBND, (NOI_VU, TAI_CHINH, KE_HOACH), 101)
    d.log(UBND, "sends 101/UBND-VP to 3 agencies", _receipt(c[UBND].send(raw)))
    d.deliver()
    d.at(9, 5)
    got = d.take(NOI_VU, doc)
    d.log(NOI_VU, "takes 101 (delivered)", f"received {got['x-axis-delivered-at']}, "
          f"effective {got['x-axis-effective-at']}")
    d.at(9, 10)
    d.take(KE_HOACH, doc)
    c[KE_HOACH].send(d.status(KE_HOACH, UBND, doc, StatusCode.REFUSED,
                              "Không thuộc thẩm quyền giải quyết (Art. 6.4)"))
    d.log(KE_HOACH, "refuses 101 with a reason", "status 02 relayed to UBND tỉnh")
    for minute, code in ((20, "03"), (30, "04"), (45, "05")):
        d.at(9, minute)
        c[NOI_VU].send(d.status(NOI_VU, UBND, doc, StatusCode(code), f"Bước {code}"))
        d.log(NOI_VU, f"status {code} on 101", "relayed to UBND tỉnh")
    d.at(10, 0)
    d.clients[NOI_VU].update_status(got["doc_id"], "done")
    c[NOI_VU].send(d.status(NOI_VU, UBND, doc, StatusCode.DONE, "Đã xử lý xong"))
    d.log(NOI_VU, "status 06 on 101 (done)", "relayed to UBND tỉnh")

    d.at(10, 30)
    recalled, raw = d.document(UBND, (TU_PHAP,), 102)
    c[UBND].send(raw)
    d.deliver()
    c[UBND].send(d.status(UBND, TU_PHAP, recalled, StatusCode.RECALL_REQUEST,
                          "Thu hồi để sửa sai sót"))
    d.log(UBND, "recalls 102 before Sở Tư pháp took it", "withdrawn; 15 on its behalf")

    d.at(11, 0)
    for n in range(5):
        c[UBND].send(d.document(UBND, (NOI_VU,), 110 + n)[1])
    _, raw = d.document(UBND, (NOI_VU,), 120, Priority.FLASH)
    c[UBND].send(raw)
    d.deliver()
    first = next(iter(c[NOI_VU].pull()))
    d.log(NOI_VU, "lists its inbox: 5 normal sent first, then 1 flash",
          f"first in the list: {first['document_id'].split(',')[2]} (priority "
          f"{first['priority']})")

    d.at(18, 30)
    late = d.take(TAI_CHINH, doc)
    d.log(TAI_CHINH, "takes 101 after office hours", f"received {late['x-axis-delivered-at']},"
          f" effective {late['x-axis-effective-at']} (Art. 11.2)")
    d.deliver()
    d.at(18, 35)
    # Several statuses share a time (a recipient's 01 and its 02 at 09:10): fix the order.
    statuses = sorted(c[UBND].pull(message_type="status"),
                      key=lambda i: (i["available_at"], i["status_code"], i["sender"]))
    for item in statuses:
        d.rows.append(Row(datetime.fromisoformat(item["available_at"]), "UBND tỉnh",
                          f"receives status {item['status_code']} from "
                          f"{AGENCIES.get(item['sender'], item['sender'])}",
                          item["document_id"].split(",")[2]))


def render(rows: list[Row]) -> str:
    table = [("time (ISO 8601, +07:00)", "agency", "step", "acknowledgement")]
    table += [(iso(r.at), r.agency, r.step, r.acknowledgement) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = ["  ".join((row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                        row[2].ljust(widths[2]), row[3])) for row in table]
    lines.insert(1, "-" * min(len(lines[0]) + 20, 160))
    return "\n".join(lines)


@contextmanager
def _server(d: Demo, settings: Settings) -> Iterator[tuple[str, Callable[[str], str]]]:
    app = create_app(settings, d.node, d.clock, background=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, name="axis-demo", daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            thread.join(0.05)  # uvicorn sets `started` once it listens
        port = server.servers[0].sockets[0].getsockname()[1]
        # Agency secrets are derived from the node's credential key (docs/api.md).
        yield f"http://127.0.0.1:{port}", app.state.agency_auth.gate.secret_for
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run(directory: Path | None = None, out: Callable[[str], None] = print) -> int:
    if directory is not None:
        return _run(directory, out, where=str(directory))
    # The agencies' private keys must not outlive the demo: the whole node goes with it.
    with tempfile.TemporaryDirectory(prefix="axis-demo-") as tmp:
        return _run(Path(tmp), out, where="a temporary directory (removed at the end)")


def _run(base: Path, out: Callable[[str], None], *, where: str) -> int:
    pki_dir, anchors = base / "pki", base / "anchors"
    pki.init_ca(pki_dir, START - timedelta(days=30))
    for agency in AGENCIES:
        pki.issue(pki_dir, agency, START - timedelta(days=30))
    anchors.mkdir(parents=True, exist_ok=True)
    shutil.copy(pki_dir / "ca.pem", anchors / "ca.pem")
    settings = Settings(data_dir=base / "var", trust=TrustSettings(anchors_dir=anchors),
                        push=PushSettings(enabled=False))
    clock = FixedClock(START)
    node = build_node(settings, clock=clock, new_id=_fixed_ids())
    node.registry.import_rows(
        codec.load_json(SEED_REGISTRY_FILE.read_text("utf-8")),
        actor="demo", reason="sample Lạng Sơn registry", only_new=True)
    demo = Demo(node, clock, pki_dir)
    try:
        with _server(demo, settings) as (url, secret_for):
            for agency in AGENCIES:
                issued = node.registry.issue_credential(
                    agency, actor="demo", reason="demo system", secret_for=secret_for)
                demo.clients[agency] = AgencyClient(
                    url, issued.credential.system_id, issued.secret,
                    clock=lambda: clock.now().timestamp())
            script(demo)
    finally:
        for client in demo.clients.values():
            client.close()
        node.close()
    out(f"Axis demo: a node on the embedded default in {where}, REST on 127.0.0.1,"
        " simulated clock from " + iso(START))
    out(render(demo.rows))
    return 0
