"""Check an evidence bundle with no database and no network (`axis audit verify-bundle`).

Every check of docs/evidence-bundle.md, "Verifying", in that order; each failure is a
Problem naming the part (a member's name, or "container") and why. The result is not ok
as soon as there is one: a byte changed anywhere shows, in the member it is in (its
digest against the signed manifest, and what the byte meant) or, outside the members, as
a container that is no longer canonical (axis/journal/bundle_zip.py).

Trust rests on one certificate: the one given (the node's, obtained apart from the
bundle) or, failing that, the bundle's own, which anyone could have made; the report says
which, so that an auditor compares its fingerprint with the node's published one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from cryptography import x509

from axis.clock import as_vietnam, iso
from axis.journal import bundle as b
from axis.journal import bundle_zip
from axis.journal.chain import entry_hash_text, link_hash2, link_hash_text
from axis.journal.checkpoint import (
    Checkpoint,
    CheckpointInvalid,
    SignedCheckpoint,
    verify_signed,
)
from axis.trust import detached
from axis.trust.verdict import fingerprint

_T = TypeVar("_T")
BUNDLE_CERT_NOTE = (
    "Chứng thư số lấy từ chính gói bằng chứng: hãy đối chiếu dấu vân tay với chứng thư đã "
    "công bố của trục / the bundle's own certificate: compare its fingerprint with the "
    "node's published one")


@dataclass(frozen=True, slots=True)
class Problem:
    part: str  # a member's name, or "container"
    reason: str


@dataclass(slots=True)
class BundleReport:
    problems: list[Problem] = field(default_factory=list)
    certificate_source: str = ""  # given | bundle
    certificate: str = ""  # its SHA-256 fingerprint
    checkpoint: Checkpoint | None = None
    documents: list[str] = field(default_factory=list)
    entries: int = 0
    links: int = 0
    packages: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, part: str, reason: str) -> None:
        self.problems.append(Problem(part, reason))

    def as_json(self) -> dict[str, Any]:
        cp = self.checkpoint
        out: dict[str, Any] = {
            "ok": self.ok,
            "certificate": {"source": self.certificate_source,
                            "fingerprint": self.certificate},
            "checkpoint": ({"seq": cp.seq, "head": cp.head, "at": iso(cp.at), "node": cp.node}
                           if cp else None),
            "documents": self.documents, "entries": self.entries, "links": self.links,
            "packages": self.packages,
            "problems": [{"part": p.part, "reason": p.reason} for p in self.problems],
        }
        if self.certificate_source == "bundle":
            out["certificate"]["note"] = BUNDLE_CERT_NOTE
        return out


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    at: datetime
    kind: str
    subject: str
    payload: str
    entry_hash: str | None
    prev_hash: str | None
    hash: str | None


def verify(data: bytes, *, cert_pem: bytes | None = None) -> BundleReport:
    r = BundleReport()
    try:
        members = bundle_zip.read(data)
    except bundle_zip.ContainerInvalid as exc:
        r.add("container", str(exc))
        return r
    by_name = dict(members)
    names = [n for n, _ in members]
    if len(by_name) != len(members) or tuple(names[:len(b.FIXED)]) != b.FIXED or any(
            not n.startswith(b.PACKAGES) for n in names[len(b.FIXED):]):
        r.add("container", f"members not in the bundle's order: {names[:len(b.FIXED)]}")
    if not bundle_zip.is_canonical(data, members):
        r.add("container", "not in canonical form: the headers or the bytes between the "
                           "members differ from what the members imply")
    cert = _certificate(r, by_name, cert_pem)
    no_entries: dict[int, _Entry] = {}
    no_manifest: dict[str, Any] = {}
    manifest = _guarded(r, b.MANIFEST, lambda: _manifest(r, by_name, cert), no_manifest)
    cp = _guarded(r, b.CHECKPOINT, lambda: _checkpoint(r, by_name, cert, manifest), None)
    entries = _guarded(r, b.JOURNAL, lambda: _entries(r, by_name), no_entries)
    _guarded(r, b.PROOF, lambda: _proof(r, by_name, entries, cp), None)
    _guarded(r, b.PACKAGES, lambda: _packages(r, by_name, manifest, entries), None)
    return r


def _guarded(r: BundleReport, part: str, step: Callable[[], _T], failed: _T) -> _T:
    """One step; whatever an altered member makes a parser raise is that member's
    problem, never a crash of the verifier."""
    try:
        return step()
    except Exception as exc:  # any parser's failure on hostile bytes
        r.add(part, f"unreadable: {type(exc).__name__}: {exc}")
        return failed


def _json(r: BundleReport, by_name: dict[str, bytes], name: str) -> dict[str, Any] | None:
    raw = by_name.get(name)
    if raw is None:
        r.add(name, "missing")
        return None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        r.add(name, f"unreadable JSON: {exc}")
        return None
    if not isinstance(doc, dict):
        r.add(name, "not a JSON object")
        return None
    return doc


def _certificate(
    r: BundleReport, by_name: dict[str, bytes], given: bytes | None
) -> x509.Certificate | None:
    r.certificate_source = "given" if given is not None else "bundle"
    part = "--cert" if given is not None else b.CERTIFICATES
    pem = given if given is not None else by_name.get(b.CERTIFICATES, b"")
    try:
        cert = detached.certificates(pem.decode("ascii"))[0]
        cert.public_key()  # a certificate whose key is unreadable is no certificate here
    except Exception as exc:  # ValueError, UnsupportedAlgorithm …
        r.add(part, f"unreadable certificate: {exc}")
        return None
    r.certificate = fingerprint(cert)
    return cert


def _manifest(
    r: BundleReport, by_name: dict[str, bytes], cert: x509.Certificate | None
) -> dict[str, Any]:
    doc = _json(r, by_name, b.MANIFEST) or {}
    if doc and doc.get("format") != b.FORMAT:
        r.add(b.MANIFEST, f"not a {b.FORMAT} manifest")
    if cert is not None and b.MANIFEST in by_name:
        bad = detached.problem(cert, by_name.get(b.SIGNATURE, b""), by_name[b.MANIFEST])
        if bad is not None:
            r.add(b.SIGNATURE, f"{bad}: the manifest (certificate {r.certificate})")
        if doc and doc.get("node") != r.certificate:
            r.add(b.MANIFEST, f"names node {doc.get('node')}, not the certificate "
                              f"{r.certificate}")
    listed = {m.get("name"): m for m in doc.get("members", []) if isinstance(m, dict)}
    for name, raw in by_name.items():
        if name in (b.MANIFEST, b.SIGNATURE):
            continue
        m = listed.pop(name, None)
        if m is None:
            r.add(name, "not listed in the manifest")
        elif m.get("sha256") != hashlib.sha256(raw).hexdigest() or m.get("size") != len(raw):
            r.add(name, "its SHA-256 differs from the manifest's: changed")
    for absent in listed:
        r.add(str(absent), "listed in the manifest but missing")
    docs = doc.get("documents")
    r.documents = [str(d) for d in docs] if isinstance(docs, list) else []
    return doc


def _checkpoint(
    r: BundleReport, by_name: dict[str, bytes], cert: x509.Certificate | None,
    manifest: dict[str, Any],
) -> Checkpoint | None:
    doc = _json(r, by_name, b.CHECKPOINT)
    if doc is None:
        return None
    try:
        signed = SignedCheckpoint.from_json(doc)
    except (CheckpointInvalid, KeyError) as exc:
        r.add(b.CHECKPOINT, str(exc))
        return None
    r.checkpoint = cp = signed.checkpoint
    if cert is not None:
        try:
            verify_signed(signed, trusted={r.certificate})
        except CheckpointInvalid as exc:
            r.add(b.CHECKPOINT, str(exc))
        except Exception as exc:  # its certificates' key unreadable
            r.add(b.CHECKPOINT, f"unreadable certificate: {exc}")
    named = manifest.get("checkpoint")
    if manifest and named != {"seq": cp.seq, "head": cp.head}:
        r.add(b.MANIFEST, f"names checkpoint {named}, the bundle holds seq {cp.seq}")
    return cp


def _entries(r: BundleReport, by_name: dict[str, bytes]) -> dict[int, _Entry]:
    doc = _json(r, by_name, b.JOURNAL) or {}
    out: dict[int, _Entry] = {}
    for raw in doc.get("entries", []):
        try:
            e = _entry(raw)
        except (KeyError, TypeError, ValueError) as exc:
            r.add(b.JOURNAL, f"an unreadable entry: {exc}")
            continue
        if e.seq in out:
            r.add(b.JOURNAL, f"seq {e.seq} twice")
        out[e.seq] = e
        if e.entry_hash is not None and e.entry_hash != entry_hash_text(
                e.at, e.kind, e.subject, e.payload):
            r.add(b.JOURNAL, f"seq {e.seq}: its content does not match its entry hash")
    if not out and doc:
        r.add(b.JOURNAL, "no entries")
    r.entries = len(out)
    return out


def _entry(raw: Any) -> _Entry:
    """A journal.json entry: all eight fields, each of its type (docs: "journal.json")."""
    if not isinstance(raw, dict):
        raise TypeError("not an object")
    seq = raw["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError("seq: not a number")
    texts = [raw[k] for k in ("at", "kind", "subject", "payload", "prev_hash", "hash")]
    if not all(isinstance(v, str) for v in texts) or not (
            raw["entry_hash"] is None or isinstance(raw["entry_hash"], str)):
        raise TypeError(f"seq {seq}: a field of the wrong type")
    at = as_vietnam(datetime.fromisoformat(raw["at"]))
    if at.isoformat(timespec="microseconds") != raw["at"]:
        raise ValueError(f"at {raw['at']!r} is not in the canonical form")
    return _Entry(seq, at, raw["kind"], raw["subject"], raw["payload"], raw["entry_hash"],
                  raw["prev_hash"], raw["hash"])


def _link(row: dict[str, Any], prev: str, entries: dict[int, _Entry]) -> tuple[str, str]:
    """(the link recomputed, "" or why the row itself is wrong)."""
    seq, form = int(row["seq"]), row["form"]
    e = entries.get(seq)
    if form == 2:
        eh = str(row["entry_hash"])
        if e is not None and e.entry_hash != eh:
            return "", "its entry hash differs from the entry's"
        return link_hash2(seq, eh, prev), ""
    if form != 1:
        return "", f"unknown form {form!r}"
    if e is None:
        c = row["entry"]
        e = _Entry(seq, as_vietnam(datetime.fromisoformat(c["at"])), str(c["kind"]),
                   str(c["subject"]), str(c["payload"]), None, None, None)
    return link_hash_text(seq, e.at, e.kind, e.subject, e.payload, prev), ""


def _proof(r: BundleReport, by_name: dict[str, bytes], entries: dict[int, _Entry],
           cp: Checkpoint | None) -> None:
    doc = _json(r, by_name, b.PROOF)
    if doc is None:
        return
    rows = doc.get("links")
    start, end, prev = doc.get("start"), doc.get("end"), doc.get("prev")
    if not isinstance(rows, list) or not isinstance(prev, str):
        r.add(b.PROOF, "no links")
        return
    if entries and start != min(entries):
        r.add(b.PROOF, f"starts at seq {start}, the first entry is seq {min(entries)}")
    if cp is not None and end != cp.seq:
        r.add(b.PROOF, f"ends at seq {end}, the checkpoint is at seq {cp.seq}")
    seen: set[int] = set()
    for i, row in enumerate(rows):
        try:
            seq = int(row["seq"])
            if seq != (start or 0) + i:
                raise ValueError(f"seq {seq} where {(start or 0) + i} belongs")
            link, wrong = _link(row, prev, entries)
        except (KeyError, TypeError, ValueError) as exc:
            r.add(b.PROOF, f"row {i}: unreadable: {exc}")
            return
        if wrong or link != row.get("hash"):
            r.add(b.PROOF, f"seq {seq}: {wrong or 'its link does not recompute'}")
        e = entries.get(seq)
        if e is not None and (e.prev_hash != prev or e.hash != row.get("hash")):
            r.add(b.JOURNAL, f"seq {seq}: its link differs from the proof's")
        seen.add(seq)
        # On from the row's own link: a changed row is named once, not with every row
        # after it (it already makes the bundle fail).
        prev = str(row.get("hash"))
    r.links = len(rows)
    if cp is not None and (not rows or prev != cp.head or rows[-1].get("seq") != cp.seq):
        r.add(b.PROOF, f"the chain does not end at the checkpoint's head (seq {cp.seq})")
    for seq in sorted(set(entries) - seen):
        r.add(b.JOURNAL, f"seq {seq}: not in the proof")


def _names(e: _Entry) -> str | None:
    """The package digest an entry names, if any."""
    if e.kind == b.ACCEPTED:
        return e.subject
    if e.kind == b.QUEUED:
        try:
            value = json.loads(e.payload).get("package")
        except (ValueError, AttributeError):
            return None
        return str(value) if value else None
    return None


def _packages(r: BundleReport, by_name: dict[str, bytes], manifest: dict[str, Any],
              entries: dict[int, _Entry]) -> None:
    listed = manifest.get("packages", [])
    held: set[str] = set()
    for p in listed if isinstance(listed, list) else []:
        sha = str(p.get("sha256")) if isinstance(p, dict) else ""
        name = b.package_member(sha)
        raw = by_name.get(name)
        if raw is None:
            r.add(name, "missing")
            continue
        held.add(sha)
        actual = hashlib.sha256(raw).hexdigest()
        if actual != sha:
            r.add(name, f"its SHA-256 is {actual}, not the digest the journal names")
        e = entries.get(p.get("journal_seq", -1))
        if e is None or _names(e) != sha:
            r.add(name, f"journal seq {p.get('journal_seq')} does not name this digest")
    r.packages = len(held)
    for e in entries.values():
        named = _names(e)
        if named is not None and named not in held:
            r.add(b.JOURNAL, f"seq {e.seq} names package {named}, which the bundle lacks")
