"""Issue 11, item 3: evidence that proves itself. A bundle exported from a real node
(SQLite store, packages signed with real keys, the node's own checkpoint signature)
verifies offline, with `axis audit verify-bundle` and with the standalone
tools/verify_bundle.py alike; one byte changed anywhere does not, and the report names
the part; a bundle carries nothing of other documents but their entry hashes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from exchange_support import NOI_VU, TAI_CHINH, UBND, TestNode

from adapters.cli import main
from adapters.store.db import make_engine
from adapters.store.evidence import export_document, export_period
from axis.clock import VN_TZ
from axis.edxml.model import StatusCode
from axis.errors import AxisError
from axis.journal import bundle_zip
from axis.journal.bundle_verify import BundleReport, verify
from axis.journal.chain import (
    LINK2_PREFIX,
    link_form,
    link_hash,
    link_hash2,
    new_entry,
    seal,
)

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "verify_bundle.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle_tool", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


def traffic(t: TestNode) -> tuple[str, str]:
    """Document A to two agencies, taken by one (the node's 01), answered by it (03);
    document B to one of them. (A's id, B's id)."""
    doc_a, raw_a = t.document(UBND, (NOI_VU, TAI_CHINH), 1)
    doc_b, raw_b = t.document(UBND, (NOI_VU,), 2)
    t.node.exchange.submit(raw_a)
    t.node.exchange.submit(raw_b)
    t.deliver_all()
    for item in t.node.exchange.inbox(NOI_VU):
        t.node.exchange.take(NOI_VU, item.delivery_id)
    t.node.exchange.emit_due_arrivals()
    t.node.exchange.submit(t.status(NOI_VU, UBND, doc_a, StatusCode.REGISTERED))
    t.deliver_all()
    return doc_a, doc_b


def node_cert(t: TestNode) -> Path:
    return t.node.settings.data_dir / "node" / "node.pem"


def parts(report: BundleReport) -> set[str]:
    return {p.part for p in report.problems}


def both(data: bytes, cert: bytes | None = None) -> tuple[BundleReport, dict[str, Any]]:
    """The node's verdict and the standalone tool's (in process: the same code the
    subprocess runs), which must agree."""
    ours, theirs = verify(data, cert_pem=cert), tool.Verifier(data, cert).run()
    assert ours.ok == theirs["ok"]
    assert parts(ours) == {p["part"] for p in theirs["problems"]}
    return ours, theirs


def members(data: bytes) -> dict[str, bytes]:
    return dict(bundle_zip.read(data))


def member_offset(data: bytes, name: str) -> int:
    """Where member `name`'s bytes begin in the file."""
    body = members(data)[name]
    at = data.index(name.encode() + body[:64])
    return at + len(name)


def _other(c: int) -> int:
    """Another character of the same class: hex stays hex, a digit a digit, so that the
    member still parses and only the meaning changes."""
    ch = chr(c)
    if ch.isdigit():
        return ord("1" if ch == "0" else "0")
    if ch in "abcdef":
        return ord("b" if ch == "a" else "a")
    if ch.isalpha():
        return ord("x" if ch != "x" else "y")
    return c ^ 0x01


def change(data: bytes, name: str, find: bytes, *, after: bool = True) -> bytes:
    """`data` with one byte changed inside member `name`: the one after the first `find`
    (or its first byte, `after=False`)."""
    body = members(data)[name]
    i = member_offset(data, name) + body.index(find) + (len(find) if after else 0)
    return data[:i] + bytes([_other(data[i])]) + data[i + 1:]


def other_row_hash(data: bytes) -> bytes:
    """The entry hash of the first proof row that is not one of the bundle's entries."""
    entries = {e["seq"] for e in json.loads(members(data)["journal.json"])["entries"]}
    rows = json.loads(members(data)["proof.json"])["links"]
    return str(next(r["entry_hash"] for r in rows if r["seq"] not in entries)).encode()


@pytest.fixture()
def exported(t: TestNode) -> tuple[bytes, str, str]:
    doc_a, doc_b = traffic(t)
    return export_document(t.node, doc_a, t.clock.now()), doc_a, doc_b


# --- the chain's two link forms ---------------------------------------------------------
def test_the_sealer_writes_form_2_and_both_forms_verify() -> None:
    at = datetime(2026, 11, 24, 9, 0, tzinfo=VN_TZ)
    genesis = "0" * 64
    e = new_entry(7, at, "package.accepted", "abc", {"x": 1})
    sealed = seal(e, genesis)
    assert sealed.hash == link_hash2(7, e.entry_hash or "", genesis)
    assert link_form(sealed, genesis) == 2
    old = replace(sealed, hash=link_hash(7, at, "package.accepted", "abc", {"x": 1}, genesis))
    assert link_form(old, genesis) == 1  # chains sealed before form 2 still verify
    assert link_form(sealed, "1" * 64) is None
    assert link_form(replace(sealed, entry_hash="2" * 64), genesis) is None
    assert not LINK2_PREFIX[0].isdigit()  # never a form 1 preimage (those begin with seq)


# --- a document's bundle ----------------------------------------------------------------
def test_an_exported_bundle_verifies_offline_with_both_verifiers(
    t: TestNode, exported: tuple[bytes, str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, doc_a, _ = exported
    report, _ = both(data, node_cert(t).read_bytes())
    assert report.ok, report.problems
    assert report.certificate_source == "given" and report.documents == [doc_a]
    # The document, the node's 01 for the copy taken, the recipient's 03.
    assert report.packages == 3
    entries = json.loads(members(data)["journal.json"])["entries"]
    kinds = {e["kind"] for e in entries}
    assert {"package.accepted", "delivery.queued", "delivery.available",
            "delivery.delivered"} <= kinds
    assert report.checkpoint is not None and report.checkpoint.seq >= max(
        e["seq"] for e in entries)

    path = tmp_path / "a.zip"
    path.write_bytes(data)
    assert main(["audit", "verify-bundle", str(path), "--cert", str(node_cert(t))]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["certificate"]["source"] == "given"
    assert main(["audit", "verify-bundle", str(path)]) == 0  # the bundle's own certificate
    out = json.loads(capsys.readouterr().out)
    assert out["certificate"]["source"] == "bundle" and "fingerprint" in out["certificate"]["note"]

    run = subprocess.run([sys.executable, str(TOOL), str(path), "--cert", str(node_cert(t))],
                         capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    theirs = json.loads(run.stdout)
    assert (theirs["ok"], theirs["entries"], theirs["links"], theirs["packages"]) == (
        True, report.entries, report.links, report.packages)
    assert theirs["checkpoint"]["head"] == report.checkpoint.head


def _package(data: bytes, kind: str) -> str:
    manifest = json.loads(members(data)["manifest.json"])
    p = next(p for p in manifest["packages"] if p["kind"] == kind)
    return f"packages/{p['sha256']}.xml"


@pytest.mark.parametrize(("what", "part", "reason"), [
    ("package", "packages/", "not the digest the journal names"),
    ("ack", "packages/", "not the digest the journal names"),
    ("entry", "journal.json", "does not match its entry hash"),
    ("proof", "proof.json", "does not recompute"),
    ("checkpoint", "checkpoint.json", "signature does not match"),
    ("signature", "checkpoint.json", "signature does not match"),
    ("manifest", "manifest.sig", "signature does not match"),
])
def test_one_byte_changed_in_a_part_fails_and_names_it(
    t: TestNode, exported: tuple[bytes, str, str], tmp_path: Path,
    what: str, part: str, reason: str,
) -> None:
    data, _, _ = exported
    if what in ("package", "ack"):
        bad = change(data, _package(data, "edoc" if what == "package" else "status"), b"<")
    elif what == "entry":
        bad = change(data, "journal.json", b'recipient\\":\\"')
    elif what == "proof":
        bad = change(data, "proof.json", other_row_hash(data), after=False)
    elif what == "checkpoint":
        bad = change(data, "checkpoint.json", b'"head": "')
    elif what == "signature":
        bad = change(data, "checkpoint.json", b'"signature": "')
    else:
        bad = change(data, "manifest.json", b'"created_at": "')
    assert len(bad) == len(data) and bad != data
    report, _ = both(bad, node_cert(t).read_bytes())
    assert not report.ok
    named = [p for p in report.problems if p.part.startswith(part)]
    assert named, report.problems
    if what in ("package", "ack"):
        assert named[0].part == _package(data, "edoc" if what == "package" else "status")
    assert any(reason in p.reason for p in named), named

    path = tmp_path / "bad.zip"
    path.write_bytes(bad)
    run = subprocess.run([sys.executable, str(TOOL), str(path), "--cert", str(node_cert(t))],
                         capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 1
    assert {p["part"] for p in json.loads(run.stdout)["problems"]} == parts(report)


def test_any_single_byte_changed_anywhere_is_refused(exported: tuple[bytes, str, str]) -> None:
    data, _, _ = exported
    for i in range(0, len(data), 37):  # headers, members, the central directory
        bad = bytearray(data)
        bad[i] ^= 0x20
        report, _ = both(bytes(bad))
        assert not report.ok, i


def test_a_bundle_holds_nothing_of_another_document(
    t: TestNode, exported: tuple[bytes, str, str],
) -> None:
    data, doc_a, doc_b = exported
    with t.node.store.reading() as tx:
        other = tx.deliveries_of_document(UBND, doc_b)
    assert other
    for d in other:
        assert d.delivery_id.encode() not in data
        assert d.package_sha256.encode() not in data
    assert doc_b.encode() not in data
    entries = json.loads(members(data)["journal.json"])["entries"]
    assert all(doc_a in e["payload"] or e["kind"] != "package.accepted" for e in entries)
    proof = json.loads(members(data)["proof.json"])["links"]
    assert not any("entry" in row for row in proof)  # form 2 throughout: hashes only
    assert len(proof) > len(entries)  # B's entries are in between, as hashes


# --- the export ----------------------------------------------------------------------------
def test_an_existing_checkpoint_is_reused_and_a_journal_sealed_in_form_1_still_proves(
    t: TestNode, exported: tuple[bytes, str, str],
) -> None:
    data, doc_a, _ = exported
    first = verify(data).checkpoint
    t.node.exchange.submit(t.document(UBND, (TAI_CHINH,), 3)[1])
    t.deliver_all()
    again = verify(export_document(t.node, doc_a, t.clock.now())).checkpoint
    assert first is not None and again is not None and again.seq == first.seq

    # Re-seal the whole journal in the first form (what a node sealed before form 2
    # holds), then a new checkpoint: the proof needs the others' content there, and says so.
    engine = make_engine(str(t.node.store.engine.url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM journal_checkpoints")
        prev = "0" * 64
        for e in list(t.node.store.journal()):
            link = link_hash(e.seq, e.at, e.kind, e.subject, e.payload, prev)
            conn.exec_driver_sql("UPDATE journal SET prev_hash = ?, hash = ? WHERE seq = ?",
                                 (prev, link, e.seq))
            prev = link
        conn.exec_driver_sql("UPDATE journal_head SET hash = ?", (prev,))
    engine.dispose()
    for f in (t.node.settings.data_dir / "checkpoints").glob("*.json"):
        f.unlink()
    assert t.node.store.verify_journal().ok
    old = export_document(t.node, doc_a, t.clock.now())
    report, _ = both(old)
    assert report.ok, report.problems
    rows = json.loads(members(old)["proof.json"])["links"]
    assert {row["form"] for row in rows} == {1}
    assert any("entry" in row for row in rows)


def test_a_period_and_an_agency(t: TestNode) -> None:
    doc_a, doc_b = traffic(t)
    start, end = t.clock.now(), t.clock.now()
    everything = verify(export_period(t.node, start, end + timedelta(seconds=1),
                                      t.clock.now()))
    assert everything.ok and set(everything.documents) == {doc_a, doc_b}
    only = verify(export_period(t.node, start, end + timedelta(seconds=1), t.clock.now(),
                                agency=TAI_CHINH))
    assert only.ok and only.documents == [doc_a]
    tai_chinh = t.node.registry.find(TAI_CHINH)
    assert tai_chinh is not None and tai_chinh.short_id != TAI_CHINH
    by_short = verify(export_period(t.node, start, end + timedelta(seconds=1),
                                    t.clock.now(), agency=tai_chinh.short_id))
    assert by_short.documents == [doc_a]  # the Decision 20 form names the same agency
    with pytest.raises(AxisError) as caught:
        export_document(t.node, "000.00.00.H37,2020/01/01,9/X", t.clock.now())
    assert caught.value.code.id == "audit.nothing_to_export"


def test_the_cli_exports_and_verifies(
    t: TestNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc_a, _ = traffic(t)
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    monkeypatch.delenv("AXIS_DATABASE_URL", raising=False)
    monkeypatch.setenv("AXIS_DATA_DIR", str(t.node.settings.data_dir))
    monkeypatch.chdir(tmp_path)
    assert main(["audit", "export", "--document", doc_a]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] is True and out["documents"] == [doc_a] and out["packages"] == 3
    path = Path(out["file"])
    assert path.name.startswith("evidence-") and path.is_file()
    assert main(["audit", "verify-bundle", str(path), "--cert", str(node_cert(t))]) == 0
    capsys.readouterr()

    period = tmp_path / "period.zip"
    now = t.clock.now().isoformat()
    assert main(["audit", "export", "--from", now, "--to", "2099-01-01T00:00:00",
                 "--agency", TAI_CHINH, "--out", str(period)]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == [doc_a]

    assert main(["audit", "export", "--document", "nope"]) == 1
    assert "audit.nothing_to_export" in capsys.readouterr().err
    bad = bytearray(period.read_bytes())
    bad[len(bad) // 2] ^= 1
    period.write_bytes(bytes(bad))
    assert main(["audit", "verify-bundle", str(period)]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
