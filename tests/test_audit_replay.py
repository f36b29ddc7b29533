"""`axis audit replay` (issue 11, item 2): recorded packages judged again by today's
pipeline in a sandbox, at their recorded time, against the registry and trust settings as
they were then; and the evidence store of refused packages' bytes it relies on.

A real node (SQLite, seeded registry, a test CA, real signatures: exchange_support) records
the traffic; the replay runs on its database, read-only, as the CLI does."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from exchange_support import KE_HOACH, NOI_VU, T0, TAI_CHINH, TU_PHAP, UBND, TestNode

from adapters.cli import main
from adapters.cli.audit_replay_cmd import Bar, replay_report, summary
from adapters.jobs.catalog import REFUSED_JOB, node_jobs
from adapters.node import Node, build_node
from adapters.store.refused_repo import SqlRefusedEvidence
from axis import errors
from axis.edxml.model import StatusCode
from axis.errors import AxisError
from axis.settings import Settings
from axis.trust import pki

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
END = T0 + timedelta(days=1)


def at(t: TestNode, hours: float) -> datetime:
    """Move the node's clock to T0 + `hours`."""
    target = T0 + timedelta(hours=hours)
    t.clock.advance(target - t.clock.now())
    return target


def refuse(t: TestNode, raw: bytes) -> AxisError:
    with pytest.raises(AxisError) as info:
        t.node.exchange.submit(raw)
    return info.value


def journal(t: TestNode, kind: str) -> list[dict[str, object]]:
    return [e.payload for e in t.node.store.journal() if e.kind == kind]


def revoke(t: TestNode, agency_id: str, when: datetime, path: Path) -> Path:
    """A real CRL by the test CA revoking the agency's certificate as of `when`."""
    ca_key = pki.load_key(t.pki_dir / "ca.key")
    ca = pki.load_certs(t.pki_dir / "ca.pem")[0]
    serial = pki.load_certs(t.pki_dir / f"{agency_id}.pem")[0].serial_number
    crl = pki.make_crl(ca_key, ca, [(serial, when)], when,  # type: ignore[arg-type]
                       next_update=when + timedelta(days=30))
    from cryptography.hazmat.primitives.serialization import Encoding

    path.write_bytes(crl.public_bytes(Encoding.PEM))
    return path


def today(t: TestNode, **trust: object) -> Settings:
    s = t.node.settings
    return s.model_copy(update={"trust": s.trust.model_copy(update=trust)}) if trust else s


def replay(settings: Settings, **kw: str) -> dict[str, Any]:
    return replay_report(settings, start=T0, end=END, **kw)


# --- 1. the past judged as it was -----------------------------------------------------------
def record_the_past(t: TestNode, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A certificate revoked after it signed an accepted package, and an agency suspended
    (a package to it refused) then reactivated."""
    docs: dict[str, str] = {}
    at(t, 1)
    docs["a"], raw = t.document(UBND, (NOI_VU,), 1)
    receipt = t.node.exchange.submit(raw)
    t.deliver_all()
    at(t, 1.5)  # NOI_VU takes its copy: the Art. 11.2 time is recorded
    t.node.exchange.take(NOI_VU, receipt.deliveries[0].delivery_id)
    at(t, 2)
    t.node.registry.suspend(TAI_CHINH, actor="test", reason="kiểm thử / test")
    at(t, 3)
    docs["b"], raw = t.document(UBND, (TAI_CHINH,), 2)
    suspended = refuse(t, raw)
    at(t, 4)
    t.node.registry.reactivate(TAI_CHINH, actor="test", reason="kiểm thử / test")
    revoked_on = at(t, 5)
    crl = revoke(t, UBND, revoked_on, tmp_path / "ca.crl")
    t.node.trust.crls.add_file(crl, revoked_on)  # the node learns of it
    at(t, 6)
    docs["c"], raw = t.document(UBND, (NOI_VU,), 3)
    assert refuse(t, raw).code is errors.CERTIFICATE_REVOKED
    at(t, 7)
    docs["d"], raw = t.document(NOI_VU, (TAI_CHINH, KE_HOACH), 4)
    t.node.exchange.submit(raw)
    assert suspended.code.id.startswith("route.")
    return crl, docs


def test_the_past_is_judged_as_it_was(t: TestNode, tmp_path: Path) -> None:
    crl, _ = record_the_past(t, tmp_path)
    # Today the CRL is configured: UBND's certificate is revoked (since hour 5), and
    # TAI_CHINH is active again. Neither changes what was decided before.
    report = replay(today(t, crl_files=(crl,)))
    assert report["differences"] == [], report
    assert report["ok"] is True
    assert report["replayed"] == report["packages"] == 4
    assert report["skipped"] == []


def test_a_changed_calendar_shows_in_the_office_hours_time(t: TestNode, tmp_path: Path) -> None:
    """Art. 11.2: the receipt time of a copy taken is computed again with today's
    calendar; a holiday added since for that day moves it (only A's copy was taken)."""
    crl, docs = record_the_past(t, tmp_path)
    calendar = tmp_path / "calendar.toml"
    text = t.node.settings.clock.calendar_file.read_text(encoding="utf-8")
    assert 'fixed_holidays = ["01-01",' in text
    calendar.write_text(text.replace('fixed_holidays = ["01-01",',
                                     'fixed_holidays = ["11-24", "01-01",'), encoding="utf-8")
    settings = today(t, crl_files=(crl,))
    settings = settings.model_copy(update={
        "clock": settings.clock.model_copy(update={"calendar_file": calendar})})
    report = replay(settings)
    [d] = report["differences"]
    assert (d["document_id"], d["differs"]) == (docs["a"], ["effective_at"])
    taken = T0 + timedelta(hours=1.5)  # inside office hours: effective at once, then
    assert d["recorded"]["effective_at"] == {NOI_VU: taken.isoformat(timespec="seconds")}
    assert d["replayed"]["effective_at"][NOI_VU] > taken.isoformat()  # the next working day


def test_the_unsigned_admission_list_of_then_is_used(t: TestNode) -> None:
    """A sender on the migration exception list then (trust.admit_unsigned, recorded as
    node.trust_settings when a node started with it) sent an unsigned package; today the
    list is empty. The replay admits it as then."""
    at(t, 1)
    then = t.node.settings.model_copy(update={"trust": t.node.settings.trust.model_copy(
        update={"admit_unsigned": (TU_PHAP,)})})
    ids = iter(range(10_000, 20_000))

    def start(settings: Settings) -> Node:  # a restart of the node with these settings
        return build_node(settings, clock=t.clock, new_id=lambda: f"o-{next(ids)}")

    node = start(then)
    try:
        at(t, 2)
        _, raw = t.document(TU_PHAP, (NOI_VU,), 41, signed=False)
        assert "trust.unsigned_admitted" in node.exchange.submit(raw).warnings
    finally:
        node.close()
    at(t, 3)
    node = start(t.node.settings)  # the list emptied: recorded again at this start
    try:
        with pytest.raises(AxisError) as info:
            node.exchange.submit(raw)
        assert info.value.code.id.startswith("trust.")
    finally:
        node.close()
    report = replay(t.node.settings)  # today: the list is empty
    assert report["differences"] == [], report
    assert report["replayed"] == 2


# --- 2. a changed validation rule -----------------------------------------------------------
def test_a_changed_rule_reports_exactly_the_packages_it_affects(t: TestNode) -> None:
    at(t, 1)
    pdf_doc, raw = t.document(UBND, (NOI_VU,), 11)
    t.node.exchange.submit(raw)
    at(t, 2)
    png_doc, raw = t.document(UBND, (KE_HOACH,), 12,
                              attachment=("anh.png", "image/png", PNG))
    t.node.exchange.submit(raw)
    at(t, 3)
    t.node.exchange.submit(t.status(KE_HOACH, UBND, png_doc, StatusCode.ARRIVED))
    at(t, 4)
    other_pdf, raw = t.document(NOI_VU, (UBND,), 13)
    t.node.exchange.submit(raw)
    assert replay(t.node.settings)["ok"] is True  # today's rules as then: no difference

    settings = t.node.settings
    no_pdf = settings.model_copy(update={"edxml": settings.edxml.model_copy(update={
        "allowed_types": tuple(x for x in settings.edxml.allowed_types if x != "pdf")})})
    report = replay(no_pdf)
    assert report["ok"] is False
    differs = {d["document_id"]: d for d in report["differences"]}
    assert set(differs) == {pdf_doc, other_pdf}
    for d in differs.values():
        assert d["differs"] == ["accepted"]
        assert d["recorded"]["accepted"] is True
        assert d["replayed"]["accepted"] is False
        assert d["replayed"]["code"].startswith("edxml.")
    assert report["replayed"] == 4


# --- 3 and 4. deterministic; filters ----------------------------------------------------------
def cli_env(t: TestNode, monkeypatch: pytest.MonkeyPatch) -> None:
    s = t.node.settings
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    monkeypatch.setenv("AXIS_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("AXIS_TRUST__ANCHORS_DIR", str(s.trust.anchors_dir))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", "replay", "--from", T0.isoformat(), "--to", END.isoformat(),
                 "--json", *args])
    return code, capsys.readouterr().out


def test_two_runs_give_the_same_report_and_the_exit_status_says(
    t: TestNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record_the_past(t, tmp_path)
    cli_env(t, monkeypatch)
    code, first = cli(capsys)
    again, second = cli(capsys)
    assert first == second and first.strip()
    report = json.loads(first)
    # Without today's CRL nothing revokes C: it is a difference (exit 1), named.
    assert code == again == 1
    assert [d["differs"] for d in report["differences"]] == [["accepted"]]
    assert report["differences"][0]["recorded"]["code"] == errors.CERTIFICATE_REVOKED.id
    assert any("authentication" in line for line in report["header"]["not_replayed"])
    # On a terminal: a summary naming the difference, and a progress bar on stderr.
    assert "1 different" in summary(report) and "seq " in summary(report)
    bar = Terminal()
    Bar(bar)(2, 4)
    Bar(bar)(4, 4)
    assert bar.getvalue().endswith("] 4/4\n") and "] 2/4" in bar.getvalue()
    # An error exits 2.
    assert main(["audit", "replay", "--from", "nonsense", "--to", "2026-11-25"]) == 2


def test_filters_by_agency_in_either_form_and_by_document(
    t: TestNode, tmp_path: Path,
) -> None:
    crl, docs = record_the_past(t, tmp_path)
    settings = today(t, crl_files=(crl,))
    short = t.node.registry.resolve(KE_HOACH).short_id
    for agency in (KE_HOACH, short):
        report = replay(settings, agency=agency)
        assert report["packages"] == 1 and report["ok"] is True  # only D goes to it
    # TAI_CHINH: B (refused, to it) and D (to it).
    assert replay(settings, agency=TAI_CHINH)["packages"] == 2
    one = replay(settings, document=docs["b"])
    assert one["packages"] == one["replayed"] == 1


# --- 5. the refused-bytes evidence store -----------------------------------------------------
def package_files(t: TestNode) -> set[str]:
    root = t.node.settings.data_dir / "packages"
    return {p.name for p in root.rglob("*") if p.is_file()}


def evidence(t: TestNode) -> SqlRefusedEvidence:
    kept = t.node.exchange.evidence
    assert isinstance(kept, SqlRefusedEvidence)
    return kept


def test_refused_bytes_are_kept_apart_capped_and_pruned(t: TestNode) -> None:
    t.node.registry.suspend(TAI_CHINH, actor="test", reason="kiểm thử / test")
    at(t, 1)
    _, first = t.document(UBND, (TAI_CHINH,), 21)
    e1 = refuse(t, first)
    import hashlib

    sha = hashlib.sha256(first).hexdigest()
    assert evidence(t).get(sha) == first  # kept, and read back checked
    assert sha not in package_files(t)  # never in the package store
    assert (t.node.settings.data_dir / "refused").is_dir()
    assert journal(t, "package.refused")[-1] == {
        "code": e1.code.id, "detail": e1.detail, "bytes": len(first), "sha256": sha,
        "kept": True}

    # The cap: room for what is kept already, not for one package more.
    t.node.exchange.evidence = capped = SqlRefusedEvidence(
        t.node.store.engine, evidence(t).root, max_bytes=len(first) + 10)
    at(t, 2)
    _, second = t.document(UBND, (TAI_CHINH,), 22)
    refuse(t, second)
    assert journal(t, "package.refused")[-1]["kept"] is False
    assert capped.get(hashlib.sha256(second).hexdigest()) is None
    refuse(t, first)  # the same bytes again: no new bytes, kept (one file, two rows)
    assert journal(t, "package.refused")[-1]["kept"] is True
    assert capped.kept_bytes() == len(first)

    # The job, as scheduled: nothing pruned within the retention, everything after it.
    job = next(j for j in node_jobs(t.node) if j.name == REFUSED_JOB)
    job.fn(t.clock.now())
    assert capped.get(sha) == first
    later = t.clock.now() + timedelta(days=t.node.settings.audit.refused_retention_days + 1)
    job.fn(later)
    assert capped.get(sha) is None and capped.kept_bytes() == 0
    assert not [p for p in capped.root.rglob("*") if p.is_file()]
    assert sha not in package_files(t)


def test_an_edge_refusal_keeps_no_bytes_and_is_skipped_by_replay(t: TestNode) -> None:
    at(t, 1)
    _, raw = t.document(UBND, (NOI_VU,), 31)
    exc = errors.TOO_LARGE.error("test")
    t.node.agency.refused(exc, raw)  # what an edge refuses while decoding
    assert journal(t, "package.refused")[-1]["kept"] is False
    report = replay(t.node.settings)
    assert report["ok"] is True and report["replayed"] == 0
    assert [s["error_id"] for s in report["skipped"]] == [exc.error_id]
