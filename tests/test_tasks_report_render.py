"""Task report renderings (adapters/reports, issue 12 item 5, Art. 14.3.đ): the numbers in
the CSV, XLSX and PDF are the report's; the drill-down lists the tasks behind each number
with the documents that prove them; the PDF is signed by the node (pyHanko's validator
and poppler's pdfsig agree, and one changed byte breaks it); the Vietnamese text is in
the PDF (pdftotext); `axis tasks report` reads the node's task store."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from openpyxl import load_workbook
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from store_support import cli_database
from tasks_report_support import AS_OF, EXPECTED, ISSUER, NAMES, PERIOD, sample_tasks

from adapters.cli import main
from adapters.reports import ReportData, drill_rows, render, report_data
from adapters.reports.data import BUCKETS
from axis import errors
from axis.errors import AxisError
from axis.tasks.report import TOTAL, Bucket, Report
from axis.trust import pki
from axis.trust.sign import NodeSigner


@pytest.fixture(scope="module")
def data() -> ReportData:
    return report_data(sample_tasks(), PERIOD, AS_OF, names=NAMES, issuer=ISSUER)


@pytest.fixture(scope="module")
def signer() -> NodeSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = pki.self_signed(key, pki.subject("Axis node H37"), AS_OF - timedelta(days=30))
    return NodeSigner(key, cert)


@pytest.fixture(scope="module")
def pdf(data: ReportData, signer: NodeSigner) -> bytes:
    return render(data, "pdf", "vi", signer)


def counts(report: Report) -> dict[str, dict[Bucket, int]]:
    return {row.agency: {b: row.count(b) for b in BUCKETS}
            for row in (*report.rows, report.total)}


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheet programs need
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- the numbers ----------------------------------------------------------------------


def test_the_sample_lands_where_expected(data: ReportData) -> None:
    got = {r.agency: {b: set(c) for b, c in r.codes.items()} for r in data.report.rows}
    assert got == EXPECTED
    assert data.report.total.total == 15  # 17 tasks: one returned, one done before


def test_the_csv_table_has_the_reports_numbers_and_rates(data: ReportData) -> None:
    head, *rows = read_csv(render(data, "csv", "vi"))
    assert head[:4] == ["Mã định danh", "Cơ quan chủ trì", "Tổng số nhiệm vụ",
                        "Đến hạn, hoàn thành đúng hạn"]
    got = {r[0]: {b: int(r[3 + 2 * i]) for i, b in enumerate(BUCKETS)} for r in rows}
    assert got == counts(data.report)
    by_id = {r[0]: r for r in rows}
    total = by_id[TOTAL]
    assert total[1] == "Tổng cộng" and int(total[2]) == data.report.total.total
    assert by_id["000.00.03.H37"][1] == "Sở Tài chính"
    # Rates: percent of the row's tasks; the national "within the deadline" column last.
    tc = data.report.rows[1]
    assert tc.agency == "000.00.03.H37"
    assert float(by_id[tc.agency][4]) == round(100 * tc.rate(Bucket.COMPLETED_ON_TIME), 1)
    assert int(by_id[tc.agency][-2]) == tc.open_in_time == 1
    assert [r[0] for r in rows] == [*(r.agency for r in data.report.rows), TOTAL]


def test_the_csv_speaks_english_when_asked(data: ReportData) -> None:
    head, *rows = read_csv(render(data, "csv", "en"))
    assert head[3] == "Due, completed on time" and rows[-1][1] == "Total"


def test_the_drill_down_lists_exactly_the_tasks_behind_each_number(data: ReportData) -> None:
    head, *rows = read_csv(render(data, "csv-tasks", "en"))
    assert head[:4] == ["Identifier", "Lead agency", "Bucket", "Task code"]
    label = {"Due, completed on time": Bucket.COMPLETED_ON_TIME,
             "Due, completed late": Bucket.COMPLETED_LATE,
             "Not completed, within the deadline": Bucket.OPEN_WITHIN_DEADLINE,
             "Not completed, overdue": Bucket.OPEN_OVERDUE, "Not yet due": Bucket.NOT_YET_DUE}
    got: dict[str, dict[Bucket, set[str]]] = {}
    for r in rows:
        got.setdefault(r[0], {}).setdefault(label[r[2]], set()).add(r[3])
    assert got == {a.agency: {b: set(c) for b, c in a.codes.items()}
                   for a in data.report.rows}
    assert len(rows) == data.report.total.total


def test_each_drill_row_carries_the_documents_that_prove_it(data: ReportData) -> None:
    rows = {r.code: r for r in drill_rows(data)}
    tasks = data.tasks
    for code, row in rows.items():
        task = tasks[code]
        assert row.assigning_document == task.document_id
        assert row.evidence[0].document_id == task.document_id  # assigned by it
        if row.bucket in (Bucket.COMPLETED_ON_TIME, Bucket.COMPLETED_LATE):
            # 13.4: the approved reply, whose acceptance by the node is the completion time
            assert task.reply is not None and row.completion_document == task.reply.document_id
            assert row.completed_at == task.reply.accepted_at
        else:
            assert row.completion_document == "" and row.completed_at is None
    # Refused, then replied again late: both replies are in the evidence, the second proves.
    nv = rows["000.00.00.H37-20261005-402-01"]
    assert nv.bucket is Bucket.COMPLETED_LATE
    assert [e.document_id for e in nv.evidence if e.action.value == "replied"] == [
        "000.00.02.H37,2026/11/20,1780/SNV-TCBC", "000.00.02.H37,2026/12/02,1841/SNV-TCBC"]
    assert nv.completion_document == "000.00.02.H37,2026/12/02,1841/SNV-TCBC"
    # An extension approved in time: the new deadline and its approving document (13.5).
    ext = rows["000.00.00.H37-20260916-345-04"]
    assert ext.bucket is Bucket.COMPLETED_ON_TIME
    assert (ext.original_deadline.isoformat(), ext.deadline.isoformat()) == (
        "2026-10-31", "2026-11-30")
    assert ext.deadline_documents == ("000.00.00.H37,2026/10/27,1702-GH/UBND-KT",)


def test_the_drill_down_of_one_agency_and_a_live_view(data: ReportData) -> None:
    only = drill_rows(data, "000.00.02.H37")
    assert {r.code for r in only} == set().union(*EXPECTED["000.00.02.H37"].values())
    # Made on 1 Dec, before the period's end: what was not known yet is not shown, and
    # a task due inside the period and not yet past it is "within the deadline".
    live = report_data(sample_tasks(), PERIOD, AS_OF.replace(month=12, day=1))
    rows = {r.code: r for r in drill_rows(live)}
    late = rows["000.00.00.H37-20261005-402-01"]  # its second reply came on 2 Dec
    assert late.bucket is Bucket.OPEN_WITHIN_DEADLINE or late.bucket is Bucket.OPEN_OVERDUE
    assert all(e.at <= live.report.as_of for e in late.evidence)
    assert "000.00.02.H37,2026/12/02,1841/SNV-TCBC" not in {
        e.document_id for e in late.evidence}


def test_the_xlsx_has_a_sheet_per_view_with_the_reports_numbers(data: ReportData) -> None:
    wb = load_workbook(io.BytesIO(render(data, "xlsx", "vi")))
    totals, agencies, tasks = wb.worksheets
    assert [ws.title for ws in wb.worksheets] == ["Tổng hợp", "Theo cơ quan",
                                                  "Danh sách nhiệm vụ"]
    values = {r[0]: r for r in totals.iter_rows(values_only=True) if r and r[0]}
    assert values["Kỳ báo cáo"][1] == "2026-Q4"
    total = data.report.total
    for b, name in ((Bucket.COMPLETED_ON_TIME, "Đến hạn, hoàn thành đúng hạn"),
                    (Bucket.OPEN_OVERDUE, "Chưa hoàn thành, quá hạn")):
        assert values[name][1] == total.count(b)
        assert values[name][2] == pytest.approx(total.rate(b))
    rows = list(agencies.iter_rows(min_row=2, values_only=True))
    got = {r[0]: {b: r[3 + 2 * i] for i, b in enumerate(BUCKETS)} for r in rows}
    assert got == counts(data.report)
    assert agencies.cell(2, 5).number_format == "0.0%"
    codes = {(r[0], r[3]) for r in tasks.iter_rows(min_row=2, values_only=True)}
    assert codes == {(a.agency, c) for a in data.report.rows
                     for cs in a.codes.values() for c in cs}


def test_render_refuses_what_it_cannot_make(data: ReportData) -> None:
    with pytest.raises(AxisError) as no_signer:
        render(data, "pdf", "vi", None)
    assert no_signer.value.code is errors.CONFIG_INVALID
    with pytest.raises(AxisError):
        render(data, "docx", "vi")  # type: ignore[arg-type]


# --- the PDF --------------------------------------------------------------------------


def pdftotext(pdf: bytes, *flags: str) -> str:
    return subprocess.run(["pdftotext", *flags, "-", "-"], input=pdf, check=True,
                          capture_output=True).stdout.decode("utf-8")


def test_the_pdf_has_the_vietnamese_text_and_the_reports_numbers(
        data: ReportData, pdf: bytes) -> None:
    text = pdftotext(pdf, "-raw")
    for phrase in ("BÁO CÁO TÌNH HÌNH, KẾT QUẢ THỰC HIỆN NHIỆM VỤ",
                   "Report on the tasks assigned by the Provincial People's Committee",
                   "Kỳ báo cáo / Period", "15/09/2026 – 14/12/2026", "Sở Kế hoạch và Đầu tư",
                   "Chưa hoàn thành, quá hạn", "Phụ lục. Danh sách nhiệm vụ",
                   "Điều 14 khoản 3 điểm đ",
                   "Ký số bởi / Digitally signed by CN=Axis node H37"):
        assert phrase in text, phrase
    table = text[text.index("Bảng 1."):text.index("Tỷ lệ: phần trăm")]
    # "of which not yet due: N" under the within-the-deadline cell, when N > 0.
    assert re.findall(r"trong đó chưa đến\s+hạn: (\d+)", table) == [
        str(r.count(Bucket.NOT_YET_DUE)) for r in (*data.report.rows, data.report.total)
        if r.count(Bucket.NOT_YET_DUE)]
    table = re.sub(r"trong đó chưa đến\s+hạn: \d+", "", table)
    # Table 1, cell by cell in drawing order: after each agency's identifier (the total:
    # its label) come total, on time, late, within the deadline (incl. not yet due), overdue.
    for row in (*data.report.rows, data.report.total):
        anchor = "Tổng cộng" if row.agency == TOTAL else row.agency
        after = table[table.index(anchor) + len(anchor):].split()
        numbers = [int(x) for x in after if re.fullmatch(r"\d+", x)][:5]
        assert numbers == [row.total, row.count(Bucket.COMPLETED_ON_TIME),
                           row.count(Bucket.COMPLETED_LATE), row.open_in_time,
                           row.count(Bucket.OPEN_OVERDUE)], row.agency
    total_cells = table[table.index("Tổng cộng"):].split()
    assert total_cells[3:5] == ["6", "40,0%"]  # 6 of 15 on time, with a decimal comma


def test_the_pdf_annex_lists_every_counted_task_and_no_other(
        data: ReportData, pdf: bytes) -> None:
    flat = re.sub(r"\s+", "", pdftotext(pdf, "-raw"))
    counted = {c for a in data.report.rows for cs in a.codes.values() for c in cs}
    for code in counted:
        assert code in flat
    for task in sample_tasks():
        if task.code not in counted:  # the returned one, the one completed before
            assert task.code not in flat
    assert "000.00.02.H37,2026/12/02,1841/SNV-TCBC" in flat  # a proving reply


def _validate(pdf: bytes, signer: NodeSigner) -> Any:
    root = asn1_x509.Certificate.load(signer.cert.public_bytes(Encoding.DER))
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[root], allow_fetching=False,
                                moment=AS_OF + timedelta(hours=1))
    return validate_pdf_signature(sig, context)


def pdfsig(pdf: bytes, directory: Path) -> str:
    path = directory / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, check=False,
                          ).stdout.decode()


def test_the_pdf_signature_validates_against_the_node_certificate(
        pdf: bytes, signer: NodeSigner, tmp_path: Path) -> None:
    status = _validate(pdf, signer)
    assert status.intact and status.valid and status.trusted
    assert status.signer_reported_dt == AS_OF
    assert status.coverage.name == "ENTIRE_FILE"
    # A PDF reader's own check (poppler).
    out = pdfsig(pdf, tmp_path)
    assert "Signature is Valid." in out and "Total document signed" in out


def test_one_changed_byte_breaks_the_signature(
        pdf: bytes, signer: NodeSigner, tmp_path: Path) -> None:
    at = pdf.index(b"stream", len(pdf) // 4) + 40  # inside a page's content, signed
    tampered = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]
    status = _validate(tampered, signer)
    assert not status.intact and not status.bottom_line
    out = pdfsig(tampered, tmp_path)
    assert "Signature Validation: Digest Mismatch." in out


def test_another_certificate_does_not_vouch_for_it(pdf: bytes) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = NodeSigner(key, pki.self_signed(key, pki.subject("Axis node H37"),
                                            AS_OF - timedelta(days=30)))
    status = _validate(pdf, other)
    assert status.intact and not status.trusted


# --- axis tasks report ----------------------------------------------------------------


@pytest.fixture
def node_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A node's SQLite database with the registry seed and the sample tasks stored."""
    from adapters.store.db import make_engine
    from adapters.store.task_repo import SqlTaskStore

    url = next(cli_database("sqlite", tmp_path, monkeypatch))
    assert main(["db", "upgrade"]) == 0
    assert main(["registry", "seed"]) == 0
    engine = make_engine(url)
    try:
        store = SqlTaskStore(engine)
        with store.transaction() as tx:
            for task in sample_tasks():
                assert tx.add_task(task)
                tx.add_history(task.code, task.history)
    finally:
        engine.dispose()
    yield tmp_path / "var"


def test_the_cli_writes_the_csv_from_the_task_store(
        node_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        data: ReportData) -> None:
    capsys.readouterr()
    out = tmp_path / "q4.csv"
    assert main(["tasks", "report", "--period", "2026-Q4", "--as-of", "2026-12-15T09:00",
                 "--format", "csv", "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert '"period": "2026-Q4"' in summary and '"tasks": 15' in summary
    _, *rows = read_csv(out.read_bytes())
    got = {r[0]: {b: int(r[3 + 2 * i]) for i, b in enumerate(BUCKETS)} for r in rows}
    assert got == counts(data.report)
    assert {r[0]: r[1] for r in rows}["000.00.03.H37"] == "Sở Tài chính tỉnh Lạng Sơn"


def test_the_cli_signs_one_agencys_pdf_with_the_node_identity(
        node_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tc.pdf"
    assert main(["tasks", "report", "--period", "2026-Q4", "--as-of", "2026-12-15T09:00",
                 "--agency", "H37.03", "--out", str(out)]) == 0
    assert '"agency": "000.00.03.H37"' in capsys.readouterr().out
    body = out.read_bytes()
    signer = NodeSigner.from_files(node_db / "node" / "node.key", node_db / "node" / "node.pem")
    root = asn1_x509.Certificate.load(signer.cert.public_bytes(Encoding.DER))
    sig = PdfFileReader(io.BytesIO(body)).embedded_signatures[0]
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root],
                                                           allow_fetching=False))
    assert status.bottom_line
    flat = re.sub(r"\s+", "", pdftotext(body, "-raw"))
    assert "000.00.00.H37-20261102-455-01" in flat  # Tài chính's overdue task
    assert "000.00.00.H37-20261005-402-01" not in flat  # Nội vụ's


def test_the_cli_refuses_an_unknown_agency_and_period(
        node_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["tasks", "report", "--period", "2026-Q5", "--format", "csv"]) == 1
    assert "task.period_invalid" in capsys.readouterr().err
    assert main(["tasks", "report", "--period", "2026-Q4", "--agency", "H37.99",
                 "--format", "csv"]) == 1
    assert "registry.unknown_agency" in capsys.readouterr().err
