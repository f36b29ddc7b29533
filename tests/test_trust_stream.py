"""The streamed reference check (issue 9) gives exactly lxml's C14N bytes, and a large
signed package verifies with one tree's worth of memory, not four."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from exchange_support import T0, UBND, TestNode, make_pki, start_node
from lxml import etree

from axis import errors
from axis.edxml import safexml
from axis.edxml.model import (
    Attachment,
    DocCode,
    DocumentHeader,
    DocumentPackage,
    Organ,
    Reference,
)
from axis.edxml.writer import build
from axis.settings import EdxmlSettings, Settings, TrustSettings
from axis.trust import setup, streamed
from axis.trust.sign import NodeSigner
from axis.trust.streamed import _canonical_into, _Spool

BIG = "QUJD" * 100_000  # 400 000 characters: above the lifting threshold


def _doc(body: bytes) -> etree._Element:
    parser = etree.XMLParser(strip_cdata=False, huge_tree=True, resolve_entities=False)
    return etree.fromstring(body, parser)


CASES = [
    # a plain large base64 text, as in every package with an attachment
    b'<e:r xmlns:e="http://e/" xmlns:u="http://unused/"><e:a x="1">' + BIG.encode()
    + b"</e:a><e:b/></e:r>",
    # text that C14N escapes (& < > and a carriage return given as a reference), lines
    b'<r xmlns="http://d/"><a>' + (BIG[:300_000] + "&amp;&lt;&gt;&#13;\n").encode()
    + b"tail</a></r>",
    # CDATA and a comment inside the large text; text after the comment
    b'<r xmlns="http://d/"><a><![CDATA[' + BIG.encode() + b"<&]]>x" + BIG.encode()
    + b"<!-- c -->after</a>tail<b>" + BIG.encode() + b"</b></r>",
    # the marker's own shape in the document: still exactly lxml's output
    b'<r xmlns="http://d/"><a>' + BIG.encode() + b"</a><b>axis-c14n-</b></r>",
]


@pytest.mark.parametrize("body", CASES)
@pytest.mark.parametrize("exclusive", [True, False])
@pytest.mark.parametrize("with_comments", [True, False])
def test_lifted_canonical_form_is_lxmls(body: bytes, exclusive: bool,
                                        with_comments: bool) -> None:
    expected = etree.tostring(_doc(body), method="c14n", exclusive=exclusive,
                              with_comments=with_comments)
    sink = _Spool(hashlib.sha256(), None)
    _canonical_into(sink, _doc(body), exclusive=exclusive, with_comments=with_comments,
                    prefixes=None, restore=False)
    got = sink.parse(etree.XMLParser(huge_tree=True))
    assert etree.tostring(got, method="c14n") == etree.tostring(
        etree.fromstring(expected, etree.XMLParser(huge_tree=True)), method="c14n")
    # The digest is of exactly lxml's bytes.
    assert sink.digest() == hashlib.sha256(expected).digest()


def test_restore_puts_the_text_back() -> None:
    root = _doc(CASES[0])
    before = etree.tostring(root)
    sink = _Spool(hashlib.sha256(), None)
    _canonical_into(sink, root, exclusive=True, with_comments=False, prefixes=None,
                    restore=True)
    assert etree.tostring(root) == before


def test_spool_goes_to_a_file_past_the_threshold(tmp_path: Path) -> None:
    sink = _Spool(hashlib.sha256(), tmp_path / "spool")
    sink.write(b"<r>" + b"x" * (streamed._SPOOL_IN_MEMORY + 10) + b"</r>")
    assert sink._mem is None and sink._file is not None
    assert len(sink.parse(etree.XMLParser(huge_tree=True)).text or "") > streamed._SPOOL_IN_MEMORY
    sink.close()


def large_document(node: TestNode, size: int) -> bytes:
    """A document from UBND with one PDF attachment of about `size` bytes encoded, signed
    with UBND's real key."""
    return signed_large_document(node.signer(UBND), size)


def signed_large_document(signer: NodeSigner, size: int) -> bytes:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * (size * 3 // 4 // 256) + b"\n%%EOF\n"
    package = DocumentPackage(
        header=DocumentHeader(
            sender=Organ(UBND), recipients=(Organ("000.00.02.H37"),),
            document_id=f"{UBND},2026/11/24,9/UBND-VP", code=DocCode("9", "UBND-VP"),
            promulgation_date=T0.date(), subject="Văn bản lớn"),
        references=(Reference("a1", "application/pdf", "lon.pdf"),),
        attachments=(Attachment("a1", "lon.pdf", "application/pdf", data=pdf),),
    )
    return signer.sign(build(package))


# A large signed package through the whole trust stage, in a process of its own so that
# its peak resident memory (VmHWM) is the stage's: before issue 9 the stage alone added
# about five times the package size; now about twice (one tree + one transient text).
_PROBE = textwrap.dedent("""
    import sys
    from datetime import datetime
    from pathlib import Path
    from axis.settings import Settings, TrustSettings
    from axis.trust import setup
    sys.path.insert(0, "tests")
    from exchange_support import T0

    from memory_support import status_bytes as rss

    anchors, package, data = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    settings = Settings(data_dir=data, trust=TrustSettings(anchors_dir=anchors))
    stage = setup.build(settings, T0)
    raw = package.read_bytes()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base = rss("VmRSS")
    checked = stage(raw, T0)
    assert checked.signature == "verified", checked.signature
    print(len(raw), rss("VmHWM") - base)
""")


def test_large_signed_package_verifies_in_bounded_memory(tmp_path: Path) -> None:
    anchors = make_pki(tmp_path / "pki")
    node = start_node(tmp_path, tmp_path / "pki", anchors)
    raw = large_document(node, 20 * 1024 * 1024)
    package = tmp_path / "big.xml"
    package.write_bytes(raw)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(anchors), str(package), str(tmp_path / "probe")],
        capture_output=True, text=True, check=True, timeout=120,
        cwd=Path(__file__).resolve().parents[1])
    size, growth = (int(v) for v in out.stdout.split())
    print(f"{size / 2**20:.0f} MB package: peak growth {growth / 2**20:.0f} MB")
    assert size >= 20 * 1024 * 1024
    # signxml's own path: ~5x the package (~100 MB here); a tree holding the base64,
    # 1x, and 2x while it is read (~42 MB). Lifted: a constant (chunks, libmagic, XSD).
    assert growth < 0.6 * size, f"peak growth {growth / 2**20:.0f} MB for {size / 2**20:.0f} MB"


def test_lifted_and_whole_trees_read_the_same_package(tmp_path: Path) -> None:
    """The trust stage with the attachment left in the bytes reads exactly what it reads
    from the whole tree: same attachment size, digest and type, same verdict."""
    anchors = make_pki(tmp_path / "pki")
    node = start_node(tmp_path, tmp_path / "pki", anchors)
    raw = large_document(node, 2 * 1024 * 1024)
    settings = Settings(data_dir=tmp_path / "v", trust=TrustSettings(anchors_dir=anchors))
    stage = setup.build(settings, T0)
    lifted = stage(raw, T0)
    _, pre = safexml.parse_lifted(raw, settings.edxml)
    assert pre is not None and len(pre.spans) == 1  # the attachment was left out
    whole = stage.validator.check_tree(stage.verifier.verify_tree(
        safexml.parse(raw, settings.edxml), T0).signed_root)  # type: ignore[arg-type]
    assert isinstance(whole.package, DocumentPackage) and not whole.errors
    assert isinstance(lifted.package, DocumentPackage)
    assert lifted.package.attachments == whole.package.attachments
    assert lifted.package.attachments[0].size > 1024 * 1024
    # An altered attachment is caught by the digest over the package bytes.
    spans = next(iter(pre.spans.values()))
    middle = (spans[0] + spans[1]) // 2
    flipped = raw[:middle] + (b"B" if raw[middle:middle + 1] == b"A" else b"A") + raw[middle + 1:]
    with pytest.raises(errors.AxisError) as caught:
        stage(flipped, T0)
    assert caught.value.code is errors.SIGNATURE_INVALID


@pytest.mark.parametrize("shape", [
    # inside a comment: not an element's text, so not lifted
    b"<!--<e:ContentTransferEncoded>" + b"QUJD" * 100_000 + b"</e:ContentTransferEncoded>-->",
    # padding in the middle: left to the usual path, which refuses it
    b"<e:ContentTransferEncoded>" + b"QQ==" + b"QUJD" * 100_000 + b"</e:ContentTransferEncoded>",
    # not a multiple of 4
    b"<e:ContentTransferEncoded>" + b"QUJD" * 100_000 + b"Q</e:ContentTransferEncoded>",
    # more content after the run (a comment, then text): the run is not the whole text
    b"<e:ContentTransferEncoded>" + b"QUJD" * 100_000 + b"<!--c-->QUJD"
    b"</e:ContentTransferEncoded>",
    # CDATA after the run
    b"<e:ContentTransferEncoded>" + b"QUJD" * 100_000 + b"<![CDATA[QUJD]]>"
    b"</e:ContentTransferEncoded>",
    # the same run in an attribute-like place: the start tag regex sees a false tag
    b'<e:y a="<e:ContentTransferEncoded>' + b"QUJD" * 100_000 + b'"/>',
])
def test_what_cannot_be_shown_the_same_is_parsed_whole(shape: bytes) -> None:
    doc = (b'<e:edXML xmlns:e="http://www.mic.gov.vn/TBT/QCVN_102_2016"><e:x>' + shape
           + b"</e:x></e:edXML>")
    try:
        whole = etree.tostring(safexml.parse(doc, EdxmlSettings()))
    except errors.AxisError as exc:  # refused whole: refused the same way lifted
        with pytest.raises(errors.AxisError) as caught:
            safexml.parse_lifted(doc, EdxmlSettings())
        assert caught.value.code is exc.code
        return
    root, lifted = safexml.parse_lifted(doc, EdxmlSettings())
    assert lifted is None
    assert etree.tostring(root) == whole


def test_a_lifted_tree_keeps_line_numbers() -> None:
    run = b"\n".join([b"QUJD" * 19] * 6000)
    doc = (b'<e:edXML xmlns:e="http://www.mic.gov.vn/TBT/QCVN_102_2016">\n'
           b"<e:ContentTransferEncoded>" + run + b"</e:ContentTransferEncoded>\n<e:after/>"
           b"</e:edXML>")
    root, lifted = safexml.parse_lifted(doc, EdxmlSettings())
    whole = safexml.parse(doc, EdxmlSettings())
    assert lifted is not None
    assert [e.sourceline for e in root.iter()] == [e.sourceline for e in whole.iter()]
    text = root[0].text or ""
    assert bytes(lifted.run(text)) == run


def test_a_large_package_with_a_doctype_is_refused_as_before() -> None:
    """The hardening is the same for a lifted parse: a DOCTYPE (here, billion laughs) is
    refused before libxml2 sees it, with the same code."""
    doc = (b'<?xml version="1.0"?><!DOCTYPE e:edXML [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
           b'<e:edXML xmlns:e="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
           b"<e:ContentTransferEncoded>" + b"QUJD" * 100_000 + b"</e:ContentTransferEncoded>"
           b"&b;</e:edXML>")
    with pytest.raises(errors.AxisError) as lifted:
        safexml.parse_lifted(doc, EdxmlSettings())
    with pytest.raises(errors.AxisError) as whole:
        safexml.parse(doc, EdxmlSettings())
    assert lifted.value.code is whole.value.code is errors.DOCTYPE_FORBIDDEN


def test_a_lifted_zip_is_opened_like_a_whole_one() -> None:
    """A zip attachment is still opened (its entries judged) when its base64 was lifted."""
    import base64
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("van-ban.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 2000)
        zf.writestr("x.bin", bytes(300_000))
    text = base64.encodebytes(buf.getvalue())
    run = memoryview(text)
    from axis.edxml import attachments

    settings = EdxmlSettings()
    got = attachments.inspect_run(run, "application/zip", settings)
    want = attachments.inspect(text.decode("ascii"), "application/zip", settings)
    assert got == want
    assert got[0] is not None and got[0].entries
