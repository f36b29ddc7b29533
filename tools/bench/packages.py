"""The bench's world of agencies and its pre-signed packages.

A test CA and one certificate per sending agency (`axis.trust.pki`, as
tests/exchange_support.py makes them); the registry rows of the recipients the bench adds
to the seed (synthetic commune identifiers of the right shape, 000.CC.DD.H37, so that a
100-recipient package has 100 distinct pull agencies); packages of a given size built
with `axis.edxml.writer` and signed with the sender's key, written to disk once.

Packages are cached under the cache directory by their parameters: every run gets a fresh
database, so a document identifier never meets itself twice and the same files serve
every run of that shape. Signing is the expensive part (a 45 MB package takes seconds).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from axis.clock import VN_TZ
from axis.edxml.model import (
    Attachment,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    Organ,
    OtherInfo,
    Priority,
    Reference,
)
from axis.edxml.writer import build
from axis.trust import pki
from axis.trust.sign import NodeSigner

# Senders: the provincial committee and four departments (they sign with test keys).
SENDERS = ("000.00.00.H37", "000.00.02.H37", "000.00.03.H37", "000.00.04.H37",
           "000.00.05.H37")
# Recipients: 100 synthetic communes of districts 40 and 41, all pull agencies.
RECIPIENTS = tuple(f"000.{cc:02d}.{dd}.H37" for dd in (40, 41) for cc in range(50, 100))
ONE_RECIPIENT_POOL = 10  # 1-recipient packages rotate over this many recipients
PDF_HEAD = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
PDF_TAIL = b"\n%%EOF\n"
SIZES = {"5KB": 5 * 1024, "360KB": 360 * 1024, "45MB": 45 * 1024 * 1024}
CACHE_FORMAT = "axis-bench-packages/1"


@dataclass(frozen=True, slots=True)
class Package:
    """One pre-signed package on disk and what the report needs to know of it."""

    file: str
    sender: str
    document_id: str
    recipients: int
    urgent: bool


@dataclass(frozen=True, slots=True)
class PackageSet:
    directory: Path
    pki_dir: Path
    anchors: Path
    packages: tuple[Package, ...]
    bytes_each: int


def registry_rows() -> list[dict[str, Any]]:
    """The bench recipients as registry rows (imported after the seed, only new ones)."""
    rows = []
    for agency_id in RECIPIENTS:
        _, cc, dd, _ = agency_id.split(".")
        rows.append({
            "agency_id": agency_id, "short_id": f"H37.{dd}.{cc}",
            "name": f"Xã thử nghiệm {cc}/{dd} (bench)", "parent_id": f"000.00.{dd}.H37",
            "kind": "internal", "delivery_mode": "pull",
            "note": "Mã giả lập cho đo tải (synthetic, axis bench)",
        })
    return rows


def recipients_of(n: int, recipients: int) -> tuple[str, ...]:
    """The recipients of the n-th package: one rotating over a pool, or the first k."""
    if recipients == 1:
        return (RECIPIENTS[n % ONE_RECIPIENT_POOL],)
    return RECIPIENTS[:recipients]


def used_recipients(recipients: int) -> tuple[str, ...]:
    return RECIPIENTS[:max(recipients, ONE_RECIPIENT_POOL if recipients == 1 else 0)]


def make_pki(directory: Path) -> Path:
    """A CA and a certificate per sender; the anchors directory for the node."""
    at = datetime.now(VN_TZ) - timedelta(days=30)
    pki.init_ca(directory, at)
    for agency_id in SENDERS:
        pki.issue(directory, agency_id, at, days=3 * 365)
    anchors = directory / "anchors"
    anchors.mkdir(exist_ok=True)
    shutil.copy(directory / "ca.pem", anchors / "ca.pem")
    return anchors


def _package(sender: str, recipients: tuple[str, ...], number: int, day: date,
             attachment: bytes, urgent: bool) -> tuple[str, DocumentPackage]:
    doc_id = f"{sender},{day:%Y/%m/%d},{number}/BENCH"
    package = DocumentPackage(
        header=DocumentHeader(
            sender=Organ(sender),
            recipients=tuple(Organ(r) for r in recipients),
            document_id=doc_id,
            code=DocCode(str(number), "BENCH"),
            promulgation_date=day,
            subject=f"Văn bản đo tải số {number}",
            other=OtherInfo(priority=Priority.URGENT if urgent else Priority.NORMAL),
        ),
        references=(Reference("a1", "application/pdf", "van-ban.pdf"),),
        attachments=(Attachment("a1", "van-ban.pdf", "application/pdf", data=attachment),),
    )
    return doc_id, package


def _attachment(payload: int) -> bytes:
    # Random bytes: a real scan does not compress either.
    body = max(payload - len(PDF_HEAD) - len(PDF_TAIL), 0)
    return PDF_HEAD + os.urandom(body) + PDF_TAIL


def _sign_batch(job: tuple[str, Sequence[tuple[int, str, tuple[str, ...], bool]], int, str]
                ) -> list[tuple[str, str, str, int, bool]]:
    """Sign a batch in a pool process: (file, sender, document id, recipients, urgent)."""
    directory, items, payload, day_text = job
    out_dir, day = Path(directory), date.fromisoformat(day_text)
    signers: dict[str, NodeSigner] = {}
    attachment = _attachment(payload)
    done = []
    for number, sender, recipients, urgent in items:
        if sender not in signers:
            signers[sender] = NodeSigner.from_files(out_dir.parent / "pki" / f"{sender}.key",
                                                    out_dir.parent / "pki" / f"{sender}.pem")
        doc_id, package = _package(sender, recipients, number, day, attachment, urgent)
        name = f"p{number:06d}.xml"
        (out_dir / name).write_bytes(signers[sender].sign(build(package)))
        done.append((name, sender, doc_id, len(recipients), urgent))
    return done


def payload_for(target: int) -> int:
    """Attachment bytes that make a signed package of about `target` bytes: base64
    (4/3) plus a fixed envelope (header, signature, certificate) of about 3.5 KB."""
    return max(int((target - 3_600) * 3 / 4), 64)


def package_set(cache: Path, *, size: str, recipients: int, urgent_share: float,
                count: int, processes: int = 2) -> PackageSet:
    """`count` signed packages of `size` to `recipients` each, `urgent_share` of them
    urgent (spread evenly), from the cache or made now."""
    key = f"{size}-r{recipients}-u{round(urgent_share * 1000)}"
    root = cache / key
    pki_dir, directory = root / "pki", root / "packages"
    index_file = root / "index.json"
    if index_file.is_file():
        index = json.loads(index_file.read_text())
        if index.get("format") == CACHE_FORMAT and len(index["packages"]) >= count:
            return _loaded(root, index, count)
        shutil.rmtree(root)  # too few: sign them all again with one CA
    directory.mkdir(parents=True)
    anchors = make_pki(pki_dir)
    day = datetime.now(VN_TZ).date()
    # Urgent ones spread evenly: package n is urgent when the running share falls behind.
    plan = []
    for n in range(count):
        urgent = int((n + 1) * urgent_share) > int(n * urgent_share)
        plan.append((n + 1, SENDERS[n % len(SENDERS)], recipients_of(n, recipients), urgent))
    payload = payload_for(SIZES[size])
    chunks = [plan[i::processes * 4] for i in range(processes * 4)]
    jobs = [(str(directory), chunk, payload, day.isoformat()) for chunk in chunks if chunk]
    if count < 100:  # a pool's start costs more than it saves
        made = [row for job in jobs for row in _sign_batch(job)]
    else:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            made = [row for rows in pool.map(_sign_batch, jobs) for row in rows]
    made.sort()
    index = {"format": CACHE_FORMAT, "size": size, "recipients": recipients,
             "urgent_share": urgent_share, "anchors": str(anchors.relative_to(root)),
             "packages": [list(row) for row in made]}
    index_file.write_text(json.dumps(index))
    return _loaded(root, index, count)


def _loaded(root: Path, index: dict[str, Any], count: int) -> PackageSet:
    rows = index["packages"][:count]
    packages = tuple(Package(str(r[0]), str(r[1]), str(r[2]), int(r[3]), bool(r[4]))
                     for r in rows)
    directory = root / "packages"
    size = (directory / packages[0].file).stat().st_size if packages else 0
    return PackageSet(directory, root / "pki", root / str(index["anchors"]), packages, size)
