"""`axis pki init/issue/sign/verify` through the real command (composition root)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from trust_support import FIXTURES, SENDER

from adapters.cli import main

PACKAGE = FIXTURES / "edoc-business-first-zipped.edxml"  # From 000.00.00.G22


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    assert main(["pki", "init", str(d)]) == 0
    assert main(["pki", "issue", str(d), SENDER]) == 0
    assert main(["pki", "issue", str(d), "000.00.00.H41"]) == 0
    return d


def test_init_writes_a_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "init", str(tmp_path / "ca")]) == 0
    out = lines(capsys.readouterr().out)[0]
    assert out == {"cert": str(tmp_path / "ca" / "ca.pem"), "key": str(tmp_path / "ca" / "ca.key")}
    assert b"BEGIN CERTIFICATE" in (tmp_path / "ca" / "ca.pem").read_bytes()
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600


def test_issue_names_the_agency(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "issue", str(ca_dir), "000.00.01.H37"]) == 0
    out = lines(capsys.readouterr().out)[0]
    assert out["agency"] == "000.00.01.H37"
    assert "UID=AGENCY:000.00.01.H37" in str(out["subject"])
    assert (ca_dir / "000.00.01.H37.pem").is_file() and (ca_dir / "000.00.01.H37.key").is_file()
    assert len(str(out["fingerprint"])) == 64


def test_issue_refuses_a_path_as_agency(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "issue", str(ca_dir), "../escape"]) == 2
    assert "node.config_invalid" in capsys.readouterr().err
    assert not (ca_dir.parent / "escape.pem").exists()


def test_sign_then_verify(ca_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signed = tmp_path / "signed.edxml"
    assert main(["pki", "sign", "--key", str(ca_dir / f"{SENDER}.key"),
                 "--cert", str(ca_dir / f"{SENDER}.pem"), str(PACKAGE), "-o", str(signed)]) == 0
    capsys.readouterr()
    assert main(["pki", "verify", "--trust", str(ca_dir / "ca.pem"), str(signed)]) == 0
    out = lines(capsys.readouterr().out)
    assert len(out) == 1
    line = out[0]
    assert line["file"] == str(signed) and line["signature"] == "verified"
    assert line["reason"] == "" and line["code"] is None
    signer = line["signer"]
    assert isinstance(signer, dict)
    assert signer["agency"] == SENDER and "AGENCY:" + SENDER in signer["subject"]
    assert len(signer["fingerprint"]) == 64


def test_verify_exits_1_unless_every_file_is_verified(
    ca_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed = tmp_path / "signed.edxml"
    main(["pki", "sign", "--key", str(ca_dir / f"{SENDER}.key"),
          "--cert", str(ca_dir / f"{SENDER}.pem"), str(PACKAGE), "-o", str(signed)])
    junk = tmp_path / "junk.edxml"
    junk.write_bytes(b"not xml at all")
    capsys.readouterr()
    rc = main(["pki", "verify", "--trust", str(ca_dir / "ca.pem"), str(signed), str(PACKAGE),
               str(FIXTURES / "status-01.edxml"), str(junk)])
    assert rc == 1
    got = {Path(str(line["file"])).name: line for line in lines(capsys.readouterr().out)}
    assert got["signed.edxml"]["signature"] == "verified"
    assert got[PACKAGE.name]["signature"] == "placeholder"
    assert got["status-01.edxml"]["signature"] == "absent"
    assert got["junk.edxml"]["signature"] == "invalid"
    assert got["junk.edxml"]["code"] == "edxml.junk_before_prolog"


def test_verify_another_agencys_certificate_and_binding_by_fingerprint(
    ca_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = tmp_path / "by-h41.edxml"
    main(["pki", "sign", "--key", str(ca_dir / "000.00.00.H41.key"),
          "--cert", str(ca_dir / "000.00.00.H41.pem"), str(PACKAGE), "-o", str(forged)])
    capsys.readouterr()
    assert main(["pki", "verify", "--trust", str(ca_dir / "ca.pem"), str(forged)]) == 1
    line = lines(capsys.readouterr().out)[0]
    assert line["code"] == "trust.signer_not_sender"
    signer = line["signer"]
    assert isinstance(signer, dict)
    # An administrator binds that certificate to the sender as well: then it is accepted.
    fp = signer["fingerprint"]
    assert main(["pki", "verify", "--trust", str(ca_dir / "ca.pem"),
                 "--bind", f"{fp}={SENDER}", str(forged)]) == 0


def test_verify_at_a_time_after_expiry(
    ca_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed = tmp_path / "signed.edxml"
    main(["pki", "sign", "--key", str(ca_dir / f"{SENDER}.key"),
          "--cert", str(ca_dir / f"{SENDER}.pem"), str(PACKAGE), "-o", str(signed)])
    capsys.readouterr()
    assert main(["pki", "verify", "--trust", str(ca_dir / "ca.pem"),
                 "--at", "2099-01-01T00:00:00+07:00", str(signed)]) == 1
    assert lines(capsys.readouterr().out)[0]["code"] == "trust.certificate_expired"


def test_sign_to_stdout(ca_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["pki", "sign", "--key", str(ca_dir / f"{SENDER}.key"),
                 "--cert", str(ca_dir / f"{SENDER}.pem"), str(PACKAGE)]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"<?xml") and b"<ds:SignatureValue>" in out


def test_sign_with_a_key_that_is_not_the_certificates(
    ca_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pki", "sign", "--key", str(ca_dir / "000.00.00.H41.key"),
                 "--cert", str(ca_dir / f"{SENDER}.pem"), str(PACKAGE)]) == 2
    assert "does not match" in capsys.readouterr().err


def test_edxml_check_reports_the_verdict(
    ca_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "ca.pem").write_bytes((ca_dir / "ca.pem").read_bytes())
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    monkeypatch.setenv("AXIS_TRUST__ANCHORS_DIR", str(anchors))
    signed = tmp_path / "signed.edxml"
    main(["pki", "sign", "--key", str(ca_dir / f"{SENDER}.key"),
          "--cert", str(ca_dir / f"{SENDER}.pem"), str(PACKAGE), "-o", str(signed)])
    forged = tmp_path / "forged.edxml"
    main(["pki", "sign", "--key", str(ca_dir / "000.00.00.H41.key"),
          "--cert", str(ca_dir / "000.00.00.H41.pem"), str(PACKAGE), "-o", str(forged)])
    capsys.readouterr()
    main(["edxml", "check", str(signed), str(forged), str(PACKAGE),
          str(FIXTURES / "status-01.edxml")])
    got = {Path(str(r["file"])).name: r for r in lines(capsys.readouterr().out)}
    ok = got["signed.edxml"]
    assert ok["signature"] == "verified" and ok["valid"] is True
    assert isinstance(ok["signer"], dict) and ok["signer"]["agency"] == SENDER
    assert ok["from"] == SENDER  # read from the signed content
    bad = got["forged.edxml"]
    assert bad["signature"] == "invalid"
    assert bad["signature_code"] == "trust.signer_not_sender"
    assert isinstance(bad["signer"], dict) and bad["signer"]["agency"] == "000.00.00.H41"
    assert got[PACKAGE.name]["signature"] == "placeholder" and "signer" not in got[PACKAGE.name]
    assert got["status-01.edxml"]["signature"] == "absent"
