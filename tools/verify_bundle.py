#!/usr/bin/env python3
"""An independent verifier of Axis evidence bundles, written from docs/evidence-bundle.md
alone: the Python standard library and `cryptography`, nothing of the node (no `axis`,
no `adapters`). It exists to show that the document is enough; its verdict must agree
with `axis audit verify-bundle` (tests/test_evidence_bundle.py checks that it does).

    python tools/verify_bundle.py BUNDLE.zip [--cert NODE.pem]

Prints a JSON report {ok, certificate, checkpoint, problems: [{part, reason}] …}; exit 0
when the bundle holds, 1 when it does not, 2 when the file cannot be read at all.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import struct
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

FORMAT = "axis.evidence.bundle/1"
CHECKPOINT_FORMAT = "axis.journal.checkpoint/1"
FIXED = ["manifest.json", "manifest.sig", "certificates.pem", "checkpoint.json",
         "journal.json", "proof.json", "trail.json"]
LINK2 = "axis.journal.link/2"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def h(*parts: str) -> str:
    return sha("\n".join(parts).encode("utf-8"))


# --- the container ----------------------------------------------------------------------
def members_of(data: bytes) -> list[tuple[str, bytes]]:
    """Members by the central directory, data read at each local header's offset."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    out = []
    for i in infos:
        if i.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{i.filename}: compressed")
        sig, *_, name_len, extra_len = struct.unpack(
            "<4s5H3L2H", data[i.header_offset:i.header_offset + 30])
        if sig != b"PK\x03\x04":
            raise ValueError(f"{i.filename}: no local header")
        start = i.header_offset + 30 + name_len + extra_len
        body = data[start:start + i.compress_size]
        if len(body) != i.compress_size:
            raise ValueError(f"{i.filename}: truncated")
        out.append((i.filename, body))
    return out


def canonical_zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=False) as zf:
        for name, body in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system, info.external_attr = 3, 0o100644 << 16
            zf.writestr(info, body)
    return buf.getvalue()


# --- signatures -------------------------------------------------------------------------
def signature_fails(cert: x509.Certificate, signature: bytes, data: bytes) -> str | None:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return "neither an RSA nor an EC key"
    except InvalidSignature:
        return "the signature does not match"
    return None


def fingerprint(cert: x509.Certificate) -> str:
    return sha(cert.public_bytes(Encoding.DER))


def is_hex64(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(
        c in "0123456789abcdef" for c in value)


def well_formed(cp: object) -> bool:
    """The checkpoint object: exactly its five fields, each of its shape."""
    if not isinstance(cp, dict) or cp.get("format") != CHECKPOINT_FORMAT or set(cp) != {
            "format", "seq", "head", "at", "node"}:
        return False
    seq, at = cp["seq"], cp["at"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return False
    if not (is_hex64(cp["head"]) and is_hex64(cp["node"]) and isinstance(at, str)):
        return False
    try:
        return datetime.fromisoformat(at).tzinfo is not None
    except ValueError:
        return False


def readable(e: object) -> tuple[int, str]:
    """(seq, at) of a journal.json entry with its eight fields of the right types."""
    if not isinstance(e, dict):
        raise TypeError("not an object")
    seq = e["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError("seq: not a number")
    if not all(isinstance(e[k], str) for k in ("at", "kind", "subject", "payload",
                                               "prev_hash", "hash")) or not (
            e["entry_hash"] is None or isinstance(e["entry_hash"], str)):
        raise TypeError(f"seq {seq}: a field of the wrong type")
    at = e["at"]
    parsed = datetime.fromisoformat(at)  # a real instant, written in the one form:
    if (len(at) != 32 or at[10] != "T" or at[19] != "." or at[26:] != "+07:00"
            or parsed.isoformat(timespec="microseconds") != at):
        raise ValueError(f"at {at!r} is not in the canonical form")
    return seq, at


# --- the checks -------------------------------------------------------------------------
class Verifier:
    def __init__(self, data: bytes, cert_pem: bytes | None) -> None:
        self.data, self.cert_pem = data, cert_pem
        self.problems: list[dict[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.cert: x509.Certificate | None = None
        self.fp = ""
        self.manifest: dict[str, Any] = {}
        self.checkpoint: dict[str, Any] | None = None
        self.entries: dict[int, dict[str, Any]] = {}
        self.links = 0
        self.packages = 0

    def add(self, part: str, reason: str) -> None:
        self.problems.append({"part": part, "reason": reason})

    def guarded(self, part: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # hostile bytes make parsers raise anything
            self.add(part, f"unreadable: {type(exc).__name__}: {exc}")

    def json(self, name: str) -> dict[str, Any] | None:
        if name not in self.files:
            self.add(name, "missing")
            return None
        try:
            doc = json.loads(self.files[name].decode("utf-8"))
        except ValueError as exc:
            self.add(name, f"unreadable JSON: {exc}")
            return None
        if not isinstance(doc, dict):
            self.add(name, "not a JSON object")
            return None
        return doc

    def run(self) -> dict[str, Any]:
        try:
            members = members_of(self.data)
        except Exception as exc:  # not a ZIP at all
            self.add("container", f"not a ZIP file: {exc}")
            return self.report()
        self.files = dict(members)
        names = [n for n, _ in members]
        if (len(self.files) != len(names) or names[:len(FIXED)] != FIXED
                or any(not n.startswith("packages/") for n in names[len(FIXED):])):
            self.add("container", f"members not in the bundle's order: {names[:7]}")
        if canonical_zip(members) != self.data:
            self.add("container", "not in canonical form")
        self.certificate()
        self.guarded("manifest.json", self.check_manifest)
        self.guarded("checkpoint.json", self.check_checkpoint)
        self.guarded("journal.json", self.check_entries)
        self.guarded("proof.json", self.check_proof)
        self.guarded("packages/", self.check_packages)
        return self.report()

    def certificate(self) -> None:
        given = self.cert_pem is not None
        pem = self.cert_pem if given else self.files.get("certificates.pem", b"")
        try:
            cert = x509.load_pem_x509_certificates(pem or b"")[0]
            cert.public_key()
            self.cert, self.fp = cert, fingerprint(cert)
        except Exception as exc:
            self.add("--cert" if given else "certificates.pem", f"unreadable: {exc}")

    def check_manifest(self) -> None:
        m = self.manifest = self.json("manifest.json") or {}
        if m and m.get("format") != FORMAT:
            self.add("manifest.json", "not a bundle manifest")
        if self.cert is not None and "manifest.json" in self.files:
            bad = signature_fails(self.cert, self.files.get("manifest.sig", b""),
                                  self.files["manifest.json"])
            if bad:
                self.add("manifest.sig", bad)
            if m and m.get("node") != self.fp:
                self.add("manifest.json", "names another node")
        listed = {x.get("name"): x for x in m.get("members", []) if isinstance(x, dict)}
        for name, body in self.files.items():
            if name in ("manifest.json", "manifest.sig"):
                continue
            x = listed.pop(name, None)
            if x is None:
                self.add(name, "not listed in the manifest")
            elif x.get("sha256") != sha(body) or x.get("size") != len(body):
                self.add(name, "its SHA-256 differs from the manifest's")
        for absent in listed:
            self.add(str(absent), "listed in the manifest but missing")

    def check_checkpoint(self) -> None:
        doc = self.json("checkpoint.json")
        if doc is None:
            return
        cp = doc.get("checkpoint")
        if not well_formed(cp):
            self.add("checkpoint.json", "not a journal checkpoint")
            return
        assert isinstance(cp, dict)
        self.checkpoint = cp
        if self.cert is not None:
            signed = json.dumps(cp, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=True).encode("utf-8")
            carried = x509.load_pem_x509_certificates(str(doc["certificates"]).encode())
            signature = base64.b64decode(str(doc["signature"]), validate=True)
            if cp["node"] != self.fp or fingerprint(carried[0]) != self.fp:
                self.add("checkpoint.json", "not signed by the node's certificate")
            elif (bad := signature_fails(self.cert, signature, signed)) is not None:
                self.add("checkpoint.json", bad)
        if self.manifest and self.manifest.get("checkpoint") != {"seq": cp["seq"],
                                                                 "head": cp["head"]}:
            self.add("manifest.json", "names another checkpoint")

    def check_entries(self) -> None:
        doc = self.json("journal.json") or {}
        for e in doc.get("entries", []):
            try:
                seq, at = readable(e)
            except (KeyError, TypeError, ValueError) as exc:
                self.add("journal.json", f"an unreadable entry: {exc}")
                continue
            if seq in self.entries:
                self.add("journal.json", f"seq {seq} twice")
            self.entries[seq] = e
            if e["entry_hash"] is not None and e["entry_hash"] != h(
                    at, e["kind"], e["subject"], e["payload"]):
                self.add("journal.json", f"seq {seq}: content does not match its entry hash")
        if doc and not self.entries:
            self.add("journal.json", "no entries")

    def link(self, row: dict[str, Any], prev: str) -> tuple[str, str]:
        seq, e = int(row["seq"]), self.entries.get(int(row["seq"]))
        if row["form"] == 2:
            if e is not None and e["entry_hash"] != row["entry_hash"]:
                return "", "its entry hash differs from the entry's"
            return h(LINK2, str(seq), str(row["entry_hash"]), prev), ""
        if row["form"] != 1:
            return "", "unknown form"
        c = e if e is not None else row["entry"]
        at = str(c["at"])
        return h(str(seq), at[:19] + at[26:], c["kind"], c["subject"], c["payload"], prev), ""

    def check_proof(self) -> None:
        doc = self.json("proof.json")
        if doc is None:
            return
        rows, start, end, prev = doc.get("links"), doc.get("start"), doc.get("end"), \
            doc.get("prev")
        if not isinstance(rows, list) or not isinstance(prev, str):
            self.add("proof.json", "no links")
            return
        cp = self.checkpoint
        if self.entries and start != min(self.entries):
            self.add("proof.json", "does not start at the first entry")
        if cp is not None and end != cp["seq"]:
            self.add("proof.json", "does not end at the checkpoint's seq")
        seen = set()
        for i, row in enumerate(rows):
            try:
                seq = int(row["seq"])
                if seq != (start or 0) + i:
                    raise ValueError("not consecutive")
                link, wrong = self.link(row, prev)
            except (KeyError, TypeError, ValueError) as exc:
                self.add("proof.json", f"row {i}: unreadable: {exc}")
                return
            if wrong or link != row.get("hash"):
                self.add("proof.json", f"seq {seq}: {wrong or 'its link does not recompute'}")
            e = self.entries.get(seq)
            if e is not None and (e.get("prev_hash") != prev or e.get("hash") != row.get("hash")):
                self.add("journal.json", f"seq {seq}: its link differs from the proof's")
            seen.add(seq)
            prev = str(row.get("hash"))  # a changed row is named once
        self.links = len(rows)
        if cp is not None and (not rows or prev != cp["head"] or rows[-1].get("seq") != cp["seq"]):
            self.add("proof.json", "the chain does not end at the checkpoint's head")
        for seq in sorted(set(self.entries) - seen):
            self.add("journal.json", f"seq {seq}: not in the proof")

    @staticmethod
    def names(e: dict[str, Any]) -> str | None:
        if e["kind"] == "package.accepted":
            return str(e["subject"])
        if e["kind"] == "delivery.queued":
            try:
                value = json.loads(e["payload"]).get("package")
            except (ValueError, AttributeError):
                return None
            return str(value) if value else None
        return None

    def check_packages(self) -> None:
        held = set()
        listed = self.manifest.get("packages", [])
        for p in listed if isinstance(listed, list) else []:
            digest = str(p.get("sha256")) if isinstance(p, dict) else ""
            name = f"packages/{digest}.xml"
            if name not in self.files:
                self.add(name, "missing")
                continue
            held.add(digest)
            if sha(self.files[name]) != digest:
                self.add(name, "its SHA-256 is not the digest the journal names")
            e = self.entries.get(p.get("journal_seq", -1))
            if e is None or self.names(e) != digest:
                self.add(name, "its journal entry does not name this digest")
        self.packages = len(held)
        for e in self.entries.values():
            named = self.names(e)
            if named is not None and named not in held:
                self.add("journal.json", f"seq {e['seq']} names a package the bundle lacks")

    def report(self) -> dict[str, Any]:
        cp = self.checkpoint
        return {
            "ok": not self.problems,
            "certificate": {"source": "given" if self.cert_pem is not None else "bundle",
                            "fingerprint": self.fp},
            "checkpoint": ({k: cp[k] for k in ("seq", "head", "at", "node")} if cp else None),
            "documents": self.manifest.get("documents", []), "entries": len(self.entries),
            "links": self.links, "packages": self.packages, "problems": self.problems,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--cert", type=Path, help="the node's certificate (PEM)")
    args = parser.parse_args(argv)
    try:
        data = args.bundle.read_bytes()
        cert = args.cert.read_bytes() if args.cert else None
    except OSError as exc:
        print(f"verify_bundle: {exc}", file=sys.stderr)
        return 2
    report = Verifier(data, cert).run()
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
