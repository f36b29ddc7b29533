"""Golden test of the 12 real packages in ../shared/fixtures/edxml through `axis edxml check`.

The expected values below were read off the fixture XML by eye (spec §7a: every real
package must be read as valid), not copied from the program's output:

- edoc files carry a `Signature` without the xmldsig namespace and a truncated certificate:
  a placeholder (spec §6); status files carry no Signature element at all.
- A document without `Bussiness` is new (0); edoc-update says BussinessDocType 2.
- A status goes to ResponseFor/OrganId (spec §5), so its `to` is that agency.
- Warnings: every edoc except edoc-2019-small names `000.00.00.G22,2014/02/30,…` in
  Bussiness/DocumentId (an impossible date); a comma-form DocumentId that disagrees with
  From, PromulgationDate or CodeNumber is a mismatch (tayninh's agrees: 30/10/2020 is
  2020/10/30); edoc-new's To `28.22.H17` has an odd shape; edoc-2019-small's FullName is
  "Tuâ" + U+0301 (not NFC) and its manifest says application/pdf where the attachment says
  application/zip. The status files are clean.
- Every attachment is a zip (declared application/zip) holding one entry whose name can be
  read in the zip's local header; the nested packages are edXML. The 17-byte ".PDF" inside
  edoc-2019-small is not a PDF (its bytes start ff f4), which only a strict setting refuses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main

G22_DOC = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
REFERENCED = "edxml.referenced_date_invalid"
MISMATCH = "edxml.document_id_mismatch"


@dataclass(frozen=True)
class Expected:
    kind: str
    sender: str
    to: list[str]
    business_type: int | None
    status_code: str | None
    document_id: str
    signature: str
    priority: int | None
    # (name, content_id, detected type, [(entry name, entry type or None: anything but pdf)])
    attachments: list[tuple[str, str, str, list[tuple[str, str | None]]]]
    warnings: set[str]


def _status(code: str) -> Expected:
    return Expected(
        kind="status", sender="000.00.00.H41", to=["000.00.00.G22"], business_type=None,
        status_code=code, document_id=G22_DOC, signature="absent", priority=None,
        attachments=[], warnings=set(),
    )


ZIPPED_DOC = "1896_QD-TTg_m_294779.doc"

GOLDEN: dict[str, Expected] = {
    "edoc-new.edxml": Expected(
        kind="edoc", sender="000.00.00.A80", to=["28.22.H17"], business_type=0,
        status_code=None, document_id=G22_DOC, signature="placeholder", priority=0,
        attachments=[(ZIPPED_DOC, "209", "zip",
                      [("32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml", "edxml")])],
        warnings={MISMATCH, REFERENCED, "edxml.identifier_shape"},
    ),
    "edoc-new-tayninh-ddmmyyyy.edxml": Expected(
        kind="edoc", sender="000.00.11.H53", to=["000.00.01.A53"], business_type=0,
        status_code=None, document_id="000.00.11.H53,2020/10/30,2491/STC-BCTC",
        signature="placeholder", priority=0,
        attachments=[(ZIPPED_DOC, "209", "zip",
                      [("32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml", "edxml")])],
        warnings={REFERENCED},
    ),
    "edoc-update.edxml": Expected(
        kind="edoc", sender="000.00.00.G22",
        to=["000.00.00.H53", "000.00.12.H53", "000.00.00.G17"], business_type=2,
        status_code=None, document_id=G22_DOC, signature="placeholder", priority=0,
        attachments=[(ZIPPED_DOC, "209", "zip",
                      [("3ed3cc90-1dcb-4382-9725-1de9cd899790.edxml", "edxml")])],
        warnings={MISMATCH, REFERENCED},
    ),
    "edoc-2019-small.edxml": Expected(
        kind="edoc", sender="000.00.15.H51", to=["000.00.15.H51"], business_type=0,
        status_code=None, document_id="9fbfbad2-f1f8-4256-a2eb-50fb1061cddb",
        signature="placeholder", priority=0,
        attachments=[("GUIDE_INSTALL OPENVPN.SIGNED.PDF", "36b8a92e-f054-11e7-842b-005056b672fc",
                      "zip", [("5c7082fe-4ac3-4b46-961e-e2439bfae484.PDF", None)])],
        warnings={"edxml.text_not_nfc", "edxml.manifest_type_differs"},
    ),
    "edoc-business-first-zipped.edxml": Expected(
        kind="edoc", sender="000.00.00.G22",
        to=["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"], business_type=0,
        status_code=None, document_id=G22_DOC, signature="placeholder", priority=0,
        attachments=[(ZIPPED_DOC, "209", "zip",
                      [("7a71a0ee-2f35-400d-aca9-811d478eb158.edxml", "edxml")])],
        warnings={MISMATCH, REFERENCED},
    ),
    "status-01.edxml": _status("01"),
    "status-02.edxml": _status("02"),
    "status-03.edxml": _status("03"),
    "status-04.edxml": _status("04"),
    "status-05.edxml": _status("05"),
    "status-05-bkav.edxml": _status("05"),
    "status-06.edxml": _status("06"),
}

_PAYLOAD = re.compile(rb"<(?:\w+:)?ContentTransferEncoded[^>]*>([^<]*)<")


def payloads(path: Path) -> list[bytes]:
    """The attachments' bytes, decoded here with the standard library alone."""
    return [base64.b64decode(b"".join(m.split())) for m in _PAYLOAD.findall(path.read_bytes())]


@pytest.fixture
def reports(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, Any]]:
    """The CLI run over all 12 fixtures: its JSON lines by file name."""
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    files = sorted(str(p) for p in fixtures_dir.glob("*.edxml"))
    code = main(["edxml", "check", *files])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert code == 0, (lines, captured.err)
    assert len(lines) == len(files)
    parsed = [json.loads(line) for line in lines]
    assert [r["file"] for r in parsed] == files, "one line per file, in argument order"
    return {Path(r["file"]).name: r for r in parsed}


def test_the_table_covers_every_fixture(fixtures_dir: Path) -> None:
    assert {p.name for p in fixtures_dir.glob("*.edxml")} == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_fixture_is_read_as_expected(name: str, reports: dict[str, dict[str, Any]]) -> None:
    want = GOLDEN[name]
    got = reports[name]
    assert got["valid"] is True, got["errors"]
    assert got["code"] is None and got["errors"] == []
    assert got["kind"] == want.kind
    assert got["from"] == want.sender
    assert got["to"] == want.to
    assert got["business_type"] == want.business_type
    assert got["status_code"] == want.status_code
    assert got["document_id"] == want.document_id
    assert got["signature"] == want.signature
    assert got["priority"] == want.priority
    assert {w["code"] for w in got["warnings"]} == want.warnings
    for w in got["warnings"]:
        assert w["severity"] == "warning" and w["message_vi"] and w["message_en"]


@pytest.mark.parametrize("name", sorted(n for n in GOLDEN if GOLDEN[n].attachments))
def test_fixture_attachments(
    name: str, reports: dict[str, dict[str, Any]], fixtures_dir: Path
) -> None:
    want = GOLDEN[name].attachments
    got = reports[name]["attachments"]
    assert len(got) == len(want)
    decoded = payloads(fixtures_dir / name)
    assert len(decoded) == len(want)
    for g, (att_name, cid, detected, entries), data in zip(got, want, decoded, strict=True):
        assert g["name"] == att_name
        assert g["content_id"] == cid, "'cid:' is stripped"
        assert g["declared_type"] == "application/zip"
        assert g["detected_type"] == detected
        assert g["size"] == len(data)
        assert g["sha256"] == hashlib.sha256(data).hexdigest()
        assert [e["name"] for e in g["entries"]] == [e[0] for e in entries]
        for ge, (_, entry_type) in zip(g["entries"], entries, strict=True):
            if entry_type is None:
                assert ge["detected_type"] != "pdf"
            else:
                assert ge["detected_type"] == entry_type
