"""`axis edxml new`: every option, both package kinds, what it refuses, and that what it
writes passes `axis edxml check` and, signed, verifies. `axis pki install-anchor` and the
agency CLI's credentials file, which the README's newcomer path relies on, are here too.

Exit codes as `axis edxml check`: 0 written, 1 the package would be invalid (the
validator's code on stderr, nothing written), 2 options that describe no package.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from exchange_support import NOI_VU, PDF, TAI_CHINH, UBND

from adapters.cli import build_parser, edxml_new_cmd, main
from axis.clock import VN_TZ
from axis.edxml.model import BusinessType, DocumentPackage, Priority, StatusPackage
from axis.edxml.validate import Validator
from axis.edxml.writer import build
from axis.packaged import DEFAULT_ANCHORS_DIR
from axis.settings import EdxmlSettings

DOC_ID = f"{UBND},2026/11/24,101/UBND-VP"


def run(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); argparse's SystemExit becomes its code."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, _ = run(["edxml", "check", str(path)], capsys)
    report: dict[str, Any] = json.loads(out)
    assert code == 0 and report["valid"], report
    return report


def read(path: Path) -> DocumentPackage | StatusPackage:
    result = Validator(EdxmlSettings()).check(path.read_bytes())
    assert result.package is not None and not result.errors, result.errors
    return result.package


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AXIS_CONFIG", "AXIS_TRUST__ANCHORS_DIR", "AXIS_AGENCY_SYSTEM_ID",
                 "AXIS_AGENCY_SECRET", "AXIS_AGENCY_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AXIS_DATA_DIR", str(tmp_path / "var"))


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"pdf": tmp_path / "Công văn 101.pdf", "txt": tmp_path / "phu-luc.txt",
           "exe": tmp_path / "bao-cao.pdf", "noext": tmp_path / "bang-ke"}
    out["pdf"].write_bytes(PDF)
    out["txt"].write_text("Phụ lục: danh sách đơn vị.\n", encoding="utf-8")
    out["exe"].write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" * 8)
    out["noext"].write_bytes(PDF)
    return out


# --- document packages ------------------------------------------------------------------
def test_every_document_option_lands_in_a_valid_package(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "van-ban.edxml"
    code, stdout, err = run([
        "edxml", "new", "--from", UBND, "--from-name", "UBND tỉnh Lạng Sơn",
        "--to", NOI_VU, "--to", TAI_CHINH, "--subject", "Về việc thử nghiệm",
        "--attach", str(files["pdf"]), "--attach", str(files["txt"]),
        "--attach", str(files["noext"]), "--priority", "flash",
        "--code-number", "77", "--code-notation", "UBND-KT", "--date", "2026-11-20",
        "--reason", "Gửi kèm phụ lục", "-o", str(out)], capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    document_id = f"{UBND},2026/11/20,77/UBND-KT"
    assert summary == {
        "file": str(out), "kind": "edoc", "from": UBND, "to": [NOI_VU, TAI_CHINH],
        "document_id": document_id, "business_type": 0, "priority": 3,
        "attachments": ["Công văn 101.pdf", "phu-luc.txt", "bang-ke"], "signed": False,
        "bytes": out.stat().st_size}
    report = check(out, capsys)
    assert report["warnings"] == []  # the DocumentId agrees with From, date and number
    assert (report["from"], report["to"], report["priority"]) == (UBND, [NOI_VU, TAI_CHINH], 3)
    assert [(a["name"], a["declared_type"], a["detected_type"]) for a in report["attachments"]] \
        == [("Công văn 101.pdf", "application/pdf", "pdf"),
            ("phu-luc.txt", "text/plain", "txt"),
            ("bang-ke", "application/pdf", "pdf")]  # no extension: typed by its bytes
    p = read(out)
    assert isinstance(p, DocumentPackage)
    assert p.header.sender.name == "UBND tỉnh Lạng Sơn"
    assert (p.header.document_id, p.header.code.number, p.header.code.notation,
            p.header.promulgation_date) == (document_id, "77", "UBND-KT", date(2026, 11, 20))
    assert p.business is not None and p.business.reason == "Gửi kèm phụ lục"
    assert p.business_type is BusinessType.NEW


def test_defaults_and_stdout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before = datetime.now(VN_TZ)
    code, stdout, err = run(["edxml", "new", "--from", UBND, "--to", NOI_VU,
                             "--subject", "Mặc định"], capsys)
    after = datetime.now(VN_TZ)
    assert code == 0, err
    assert stdout.startswith("<?xml")  # no -o: the package itself
    path = tmp_path / "p.edxml"
    path.write_text(stdout, encoding="utf-8")
    p = read(path)
    assert isinstance(p, DocumentPackage)
    m = re.fullmatch(rf"{re.escape(UBND)},(\d{{4}}/\d\d/\d\d),(\d{{6}})/TEST",
                     p.header.document_id)
    assert m, p.header.document_id
    assert m.group(1) in (f"{before:%Y/%m/%d}", f"{after:%Y/%m/%d}")
    assert p.header.other.priority is Priority.NORMAL and p.business is None
    assert p.attachments == ()


def test_document_id_gives_number_notation_and_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.edxml"
    assert run(["edxml", "new", "--from", UBND, "--to", NOI_VU, "--subject", "x",
                "--document-id", DOC_ID, "--priority", "2", "-o", str(out)], capsys)[0] == 0
    p = read(out)
    assert isinstance(p, DocumentPackage)
    assert (p.header.code.number, p.header.code.notation, p.header.promulgation_date) == (
        "101", "UBND-VP", date(2026, 11, 24))
    assert p.header.other.priority is Priority.VERY_URGENT
    assert check(out, capsys)["warnings"] == []


@pytest.mark.parametrize("business", ["recall", "update", "replace"])
def test_business_types_name_their_target(
    business: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"{business}.edxml"
    code, _, err = run(["edxml", "new", "--from", UBND, "--to", NOI_VU, "--to", TAI_CHINH,
                        "--subject", f"{business} 101", "--business", business,
                        "--target", DOC_ID, "--reason", "Sai sót", "-o", str(out)], capsys)
    assert code == 0, err
    report = check(out, capsys)
    p = read(out)
    assert isinstance(p, DocumentPackage) and p.business is not None
    assert report["business_type"] == int(p.business_type)
    assert p.business.document_id == DOC_ID and p.business.reason == "Sai sót"
    if business == "recall":
        # A recall takes back the target itself: it travels under the target's id.
        assert p.business_type is BusinessType.REVOKE and p.header.document_id == DOC_ID
    else:
        assert p.header.document_id != DOC_ID
    if business == "replace":
        assert p.business_type is BusinessType.REPLACE
        assert [(r.document_id, r.organ_ids) for r in p.business.replacements] == [
            (DOC_ID, (NOI_VU, TAI_CHINH))]
    if business == "update":
        assert p.business_type is BusinessType.UPDATE and p.business.replacements == ()


# --- status packages --------------------------------------------------------------------
def test_status_package_answers_the_documents_issuer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.edxml"
    code, stdout, err = run(["edxml", "new", "--status", "02", "--from", NOI_VU,
                             "--response-for", DOC_ID, "--reason", "Sai thẩm quyền",
                             "-o", str(out)], capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert (summary["kind"], summary["to"], summary["status_code"]) == ("status", [UBND], "02")
    report = check(out, capsys)
    assert (report["kind"], report["status_code"], report["document_id"]) == (
        "status", "02", DOC_ID)
    p = read(out)
    assert isinstance(p, StatusPackage)
    rf = p.header.response_for
    assert (rf.organ_id, rf.code, rf.promulgation_date) == (UBND, "101/UBND-VP",
                                                            date(2026, 11, 24))
    assert p.header.description == "Sai thẩm quyền" and p.header.timestamp is not None


def test_status_to_overrides_the_issuer(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    out = tmp_path / "s.edxml"
    # A recall request (13) goes from the sender to the recipient whose copy it takes back.
    assert run(["edxml", "new", "--status", "13", "--from", UBND, "--to", NOI_VU,
                "--response-for", DOC_ID, "-o", str(out)], capsys)[0] == 0
    p = read(out)
    assert isinstance(p, StatusPackage) and p.header.response_for.organ_id == NOI_VU


# --- refusals ---------------------------------------------------------------------------
USAGE = [
    (["--status", "03", "--response-for", DOC_ID, "--attach", "{pdf}"], "--attach"),
    (["--status", "03", "--response-for", DOC_ID, "--priority", "0"], "--priority"),
    (["--status", "03", "--response-for", DOC_ID, "--subject", "x"], "--subject"),
    (["--status", "03", "--response-for", DOC_ID, "--document-id", DOC_ID], "--document-id"),
    (["--status", "03"], "--response-for"),
    (["--status", "03", "--response-for", DOC_ID, "--to", UBND, "--to", NOI_VU], "once"),
    (["--status", "03", "--response-for", "a-uuid-like-id"], "--to"),
    (["--to", UBND, "--subject", "x", "--response-for", DOC_ID], "--response-for"),
    (["--to", UBND, "--subject", "x", "--target", DOC_ID], "--target"),
    (["--to", UBND, "--subject", "x", "--business", "update"], "--target"),
    (["--to", UBND, "--subject", "x", "--attach", "{missing}"], "cannot read"),
    (["--to", UBND, "--subject", "x", "--priority", "5"], "--priority"),
    (["--to", UBND, "--subject", "x", "--date", "24/13/2026"], "--date"),
    (["--to", UBND, "--subject", "x", "--business", "revoke"], "--business"),
    (["--to", UBND, "--subject", "x", "--status", "07", "--response-for", DOC_ID], "--status"),
]


@pytest.mark.parametrize(("options", "says"), USAGE)
def test_options_that_describe_no_package_exit_2(
    options: list[str], says: str, tmp_path: Path, files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "never.edxml"
    argv = [o.format(pdf=files["pdf"], missing=tmp_path / "missing.pdf") for o in options]
    code, stdout, err = run(["edxml", "new", "--from", NOI_VU, *argv, "-o", str(out)], capsys)
    assert code == 2 and says in err and stdout == ""
    assert not out.exists()


INVALID = [
    (["--to", UBND], "edxml.missing_element"),  # no Subject
    (["--subject", "x"], "edxml.missing_recipient"),
    (["--to", UBND, "--subject", "x" * 5000], "edxml.field_too_long"),
    (["--to", UBND, "--subject", "x", "--attach", "{exe}"], "edxml.attachment_type_"),
    (["--status", "02", "--response-for", DOC_ID], "edxml.refusal_reason_missing"),
]


@pytest.mark.parametrize(("options", "code_prefix"), INVALID)
def test_an_invalid_package_is_refused_with_the_validators_code(
    options: list[str], code_prefix: str, tmp_path: Path, files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "never.edxml"
    argv = [o.format(exe=files["exe"]) for o in options]
    code, stdout, err = run(["edxml", "new", "--from", NOI_VU, *argv, "-o", str(out)], capsys)
    assert code == 1 and stdout == "" and not out.exists()
    refused = re.search(r"refused, nothing written: ([a-z_.]+):", err)
    assert refused and refused.group(1).startswith(code_prefix), err
    code, stdout, _ = run(["edxml", "new", "--from", NOI_VU, *argv], capsys)
    assert code == 1 and stdout == ""  # nothing on stdout either
    # `axis edxml check` says the same of the same package, built without the check.
    args = build_parser().parse_args(["edxml", "new", "--from", NOI_VU, *argv])
    raw = tmp_path / "unchecked.edxml"
    raw.write_bytes(build(edxml_new_cmd.make(args, datetime.now(VN_TZ))))
    code, stdout, _ = run(["edxml", "check", str(raw)], capsys)
    assert code == 1 and json.loads(stdout)["code"] == refused.group(1)


# --- signing ----------------------------------------------------------------------------
def verify(path: Path, anchors: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, _ = run(["pki", "verify", "--trust", str(anchors / "ca.pem"), str(path)], capsys)
    verdict: dict[str, Any] = json.loads(out)
    assert code == (0 if verdict["signature"] == "verified" else 1)
    return verdict


def test_sign_option_and_pipe_into_pki_sign_both_verify(
    tmp_path: Path, files: dict[str, Path], pki_dirs: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    pki_dir, anchors = pki_dirs
    key, cert = str(pki_dir / f"{UBND}.key"), str(pki_dir / f"{UBND}.pem")
    options = ["edxml", "new", "--from", UBND, "--to", NOI_VU, "--subject", "Ký số",
               "--attach", str(files["pdf"]), "--document-id", DOC_ID]
    signed = tmp_path / "signed.edxml"
    code, stdout, err = run([*options, "--sign", key, cert, "-o", str(signed)], capsys)
    assert code == 0 and json.loads(stdout)["signed"] is True and "warning" not in err
    assert verify(signed, anchors, capsys)["signature"] == "verified"
    assert check(signed, capsys)["document_id"] == DOC_ID

    code, unsigned, _ = run(options, capsys)  # the package on stdout …
    assert code == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(unsigned.encode())))
    piped = tmp_path / "piped.edxml"  # … into `axis pki sign … -`
    code, _, err = run(["pki", "sign", "--key", key, "--cert", cert, "-", "-o", str(piped)],
                       capsys)
    assert code == 0 and "warning" not in err
    assert verify(piped, anchors, capsys)["signature"] == "verified"


def test_signing_for_another_agency_warns_and_the_verifier_refuses(
    tmp_path: Path, pki_dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's old example: a package From one agency signed with another's key."""
    pki_dir, anchors = pki_dirs
    key, cert = str(pki_dir / f"{NOI_VU}.key"), str(pki_dir / f"{NOI_VU}.pem")
    signed = tmp_path / "wrong.edxml"
    code, _, err = run(["edxml", "new", "--status", "03", "--from", UBND, "--to", NOI_VU,
                        "--response-for", DOC_ID, "--sign", key, cert, "-o", str(signed)],
                       capsys)
    assert code == 0 and "trust.signer_not_sender" in err
    unsigned = tmp_path / "unsigned.edxml"
    assert run(["edxml", "new", "--status", "03", "--from", UBND, "--to", NOI_VU,
                "--response-for", DOC_ID, "-o", str(unsigned)], capsys)[0] == 0
    code, _, err = run(["pki", "sign", "--key", key, "--cert", cert, str(unsigned),
                        "-o", str(tmp_path / "wrong2.edxml")], capsys)
    assert code == 0 and "trust.signer_not_sender" in err
    for path in (signed, tmp_path / "wrong2.edxml"):
        verdict = verify(path, anchors, capsys)
        assert (verdict["signature"], verdict["code"]) == ("invalid", "trust.signer_not_sender")


# --- install-anchor and the agency CLI's credentials file --------------------------------
def test_install_anchor(tmp_path: Path, pki_dirs: tuple[Path, Path],
                        capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    pki_dir, _ = pki_dirs
    anchors = tmp_path / "anchors"
    code, out, err = run(["pki", "install-anchor", str(pki_dir / "ca.pem"),
                          "--dir", str(anchors)], capsys)
    first = json.loads(out)
    assert code == 0 and first["already_installed"] is False and "start-up" in err
    installed = Path(first["anchor"])
    assert installed.parent == anchors and b"PRIVATE" not in installed.read_bytes()
    monkeypatch.setenv("AXIS_TRUST__ANCHORS_DIR", str(anchors))  # the configured default
    code, out, _ = run(["pki", "install-anchor", str(pki_dir / "ca.pem")], capsys)
    assert code == 0 and json.loads(out) == first | {"already_installed": True}
    assert sorted(p.name for p in anchors.iterdir()) == [installed.name]

    # What the node reads from that directory verifies a package the CA's agency signed.
    signed = tmp_path / "signed.edxml"
    assert run(["edxml", "new", "--from", UBND, "--to", NOI_VU, "--subject", "x",
                "--sign", str(pki_dir / f"{UBND}.key"), str(pki_dir / f"{UBND}.pem"),
                "-o", str(signed)], capsys)[0] == 0
    code, out, _ = run(["pki", "verify", str(signed)], capsys)  # anchors from the settings
    assert code == 0 and json.loads(out)["signature"] == "verified"


@pytest.mark.parametrize(("what", "says"), [
    ("key", "private key"), ("leaf", "not a CA"), ("packaged", "packaged default"),
    ("missing", "cannot read"),
])
def test_install_anchor_refuses(what: str, says: str, tmp_path: Path,
                                pki_dirs: tuple[Path, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    pki_dir, _ = pki_dirs
    source = {"key": pki_dir / "ca.key", "leaf": pki_dir / f"{UBND}.pem",
              "packaged": pki_dir / "ca.pem", "missing": tmp_path / "none.pem"}[what]
    target = DEFAULT_ANCHORS_DIR if what == "packaged" else tmp_path / "anchors"
    before = sorted(DEFAULT_ANCHORS_DIR.iterdir())
    code, out, err = run(["pki", "install-anchor", str(source), "--dir", str(target)], capsys)
    assert code == 2 and says in err and out == ""
    assert not (tmp_path / "anchors").exists()
    assert sorted(DEFAULT_ANCHORS_DIR.iterdir()) == before


def test_agency_credentials_file_must_hold_an_id_and_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "cred.json"
    for content in ('{"system_id": "x"}', "not json", "[]"):
        bad.write_text(content, encoding="utf-8")
        code, _, err = run(["agency", "--url", "http://127.0.0.1:9", "--credentials",
                            str(bad), "pull"], capsys)
        assert code == 2 and "not a credentials file" in err
