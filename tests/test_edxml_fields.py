"""Fields as the node reads them (issue 8): markup inside routed fields (item 15), the
documents an update or a replace acts on (item 17), field lengths and foreign attributes
(item 18).

The golden corpus holds one package per example; here each class is generated over the
real fixtures: every field the node reads as an identifier, code, name or payload, split
at every kind of markup at any point, is refused, on the unsigned path and on the signed
one (where C14N would already have dropped a comment).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from trust_support import AT, LIMITS, OTHER, LegacySigner, World, fixture, world

from axis import errors
from axis.edxml import markup, reader
from axis.edxml.fields import HARD, STANDARD
from axis.edxml.model import DSIG_NS, NS, BusinessType, DocumentPackage
from axis.edxml.signature_probe import signature_elements
from axis.edxml.validate import Validator
from axis.errors import AxisError
from axis.route.recall import target_of
from axis.trust.policy import TrustPolicy
from axis.trust.signed import verify_and_read

__all__ = ["world"]

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "edxml"
CASES = Path(__file__).resolve().parent / "cases" / "edxml"
SMALL = ("status-01.edxml", "status-02.edxml", "edoc-2019-small.edxml",
         "edoc-business-first-zipped.edxml")
VALIDATOR = Validator(LIMITS)
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
PLAIN = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                        strip_cdata=False)
SPLIT, END = "\ue000", "\ue001"  # markers replaced by markup after serialisation
MARKUP = {
    "comment": ("<!-- x -->", ""), "pi": ("<?axis route?>", ""),
    "cdata": ("<![CDATA[", "]]>"), "element": (f'<e:v xmlns:e="{NS}"/>', ""),
}


def strict_fields(root: etree._Element) -> list[etree._Element]:
    """Every field of the package that must be one text node, found by the same rule."""
    return [el for el in root.iter() if isinstance(el.tag, str) and markup.is_strict(el)
            and len((el.text or "").strip()) > 1]


@st.composite
def split_field(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """A real fixture with one strict field split by one kind of markup anywhere."""
    name = draw(st.sampled_from(SMALL))
    root = etree.fromstring((FIXTURES / name).read_bytes(), PLAIN)
    fields = strict_fields(root)
    el = fields[draw(st.integers(0, len(fields) - 1))]
    text = el.text or ""
    kind = draw(st.sampled_from(sorted(MARKUP)))
    # A CDATA section holding the whole text is one text node (accepted): split it.
    cut = draw(st.integers(1, len(text) - 1) if kind == "cdata" else st.integers(0, len(text)))
    el.text = text[:cut] + SPLIT + text[cut:] + END
    raw = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
    opening, closing = MARKUP[kind]
    raw = raw.replace(SPLIT, opening).replace(END, closing)
    return name, f"{reader.element_path(el)} ({kind} at {cut})", raw.encode("utf-8")


@PROPERTY
@given(split_field())
def test_markup_inside_any_strict_field_is_refused(case: tuple[str, str, bytes]) -> None:
    name, where, raw = case
    result = VALIDATOR.check(raw)
    assert not result.valid, (name, where)
    # Schema errors (a child element where the XSD says text) come later: the parser
    # refuses first, with the field's path.
    assert result.errors[0].code is errors.MARKUP_IN_FIELD, (name, where, result.errors)


def test_every_routing_field_is_strict() -> None:
    """The class, by name: what the router, the policy and the joins read."""
    for name in ("OrganId", "DocumentId", "StatusCode", "BussinessDocType", "Priority",
                 "SecurityLevel", "ContentId", "ContentType", "AttachmentName",
                 "ContentTransferEncoded", "CodeNumber", "CodeNotation"):
        assert name in markup.STRICT_FIELDS
    rf = etree.fromstring(f'<ResponseFor xmlns="{NS}"><Code>1/X</Code></ResponseFor>')
    assert markup.is_strict(rf[0])
    header_code = etree.fromstring(f'<MessageHeader xmlns="{NS}"><Code/></MessageHeader>')
    assert not markup.is_strict(header_code[0])  # a container there


def test_the_reader_refuses_markup_in_trees_from_elsewhere() -> None:
    """`check_tree` takes any tree (the signed one, from signxml's own parser): a PI
    survives C14N there and the reader refuses it too."""
    root = etree.fromstring(fixture("status-01.edxml"), PLAIN)
    organ = root.find(f".//{{{NS}}}ResponseFor/{{{NS}}}OrganId")
    assert organ is not None
    organ.append(etree.ProcessingInstruction("x"))
    result = VALIDATOR.check_tree(root)
    assert errors.MARKUP_IN_FIELD in {f.code for f in result.errors}


def test_free_text_is_read_whole_around_comments() -> None:
    raw = (CASES / "ok-comment-in-subject.edxml").read_bytes()
    package = VALIDATOR.validate(raw).package
    assert isinstance(package, DocumentPackage)
    assert package.header.subject == "Văn bản liên thông chỉ đạo"


def _sign_plain(raw: bytes, w: World) -> bytes:
    """Sign without the node's parser (which would refuse the package): what an attacker
    with a valid certificate can send."""
    root = etree.fromstring(raw, PLAIN)
    header, _, _ = reader.envelope_parts(root)
    for old in signature_elements(header):
        header.remove(old)
    etree.SubElement(header, f"{{{DSIG_NS}}}Signature", {"Id": "placeholder"},
                     nsmap={"ds": DSIG_NS})
    party = w["g22"]
    signer = LegacySigner(signature_algorithm=SignatureMethod.RSA_SHA256,
                          digest_algorithm=DigestAlgorithm.SHA256,
                          c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0)
    signed = signer.sign(root, key=party.key, cert=[party.cert, *party.chain])
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


SPLIT_RECIPIENT = {
    "comment": f"{OTHER}<!-- -->", "pi": f"{OTHER}<?x?>",
    "cdata": f"{OTHER[:-3]}<![CDATA[{OTHER[-3:]}]]>",
}


@pytest.mark.parametrize("kind", sorted(SPLIT_RECIPIENT))
def test_a_signed_package_with_a_split_recipient_is_refused(world: World, kind: str) -> None:
    """C14N without comments drops a comment, and turns CDATA into text, before the
    signature is checked: both can be added to a signed package without breaking its
    signature, and the node would route on the joined text while a naive reader of the
    bytes it forwards sees something else. A PI is signed with the package. The sender's
    own bytes are what is checked."""
    target = f"<edXML:OrganId>{OTHER}</edXML:OrganId>".encode()
    split = f"<edXML:OrganId>{SPLIT_RECIPIENT[kind]}</edXML:OrganId>".encode()
    if kind == "pi":
        signed = _sign_plain(fixture().replace(target, split, 1), world)
    else:
        signed = world["g22"].sign(fixture())
        assert target in signed
        signed = signed.replace(target, split, 1)  # after signing: still verifies
        root = etree.fromstring(signed, PLAIN)
        assert world.verifier().verify_tree(root, AT).verified
    with pytest.raises(AxisError) as caught:
        verify_and_read(signed, AT, verifier=world.verifier(), validator=VALIDATOR,
                        policy=TrustPolicy())
    assert caught.value.code is errors.MARKUP_IN_FIELD


def test_the_same_package_signed_without_markup_is_accepted(world: World) -> None:
    trusted = verify_and_read(_sign_plain(fixture(), world), AT, verifier=world.verifier(),
                              validator=VALIDATOR, policy=TrustPolicy())
    assert OTHER in trusted.package.recipient_ids


# --- item 17: what an update or a replace acts on ------------------------------------------

def _doc(name: str) -> DocumentPackage:
    package = VALIDATOR.validate((CASES / name).read_bytes()).package
    assert isinstance(package, DocumentPackage)
    return package


def test_the_sdk_replace_names_its_document_in_replacement_info() -> None:
    doc = _doc("ok-replace-sdk-sample.edxml")
    replaced = "000.00.15.H51,2019/01/10,1223400/PRO-TEST-CASE1"
    assert doc.business_type is BusinessType.REPLACE
    assert doc.business is not None and doc.business.document_id == ""
    assert doc.target_document_ids == (replaced,)
    assert target_of(doc) == replaced  # routing and the trail link read the model


def test_an_update_acts_on_bussiness_document_id(fixtures_dir: Path) -> None:
    doc = VALIDATOR.validate((fixtures_dir / "edoc-update.edxml").read_bytes()).package
    assert isinstance(doc, DocumentPackage)
    assert doc.target_document_ids == ("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT",)
    assert target_of(doc) == doc.target_document_ids[0]


def test_new_documents_act_on_nothing(fixtures_dir: Path) -> None:
    """edoc-new carries a Bussiness/DocumentId with BussinessDocType 0: not a target."""
    doc = VALIDATOR.validate((fixtures_dir / "edoc-new.edxml").read_bytes()).package
    assert isinstance(doc, DocumentPackage)
    assert doc.business_type is BusinessType.NEW and doc.target_document_ids == ()
    assert target_of(doc) == doc.header.document_id


def test_replace_list_wins_over_bussiness_document_id_and_is_deduplicated() -> None:
    from dataclasses import replace

    from axis.edxml.model import Business, ReplacementInfo

    both = Business(doc_type=BusinessType.REPLACE, document_id="old-style",
                    replacements=(ReplacementInfo("a"), ReplacementInfo(""),
                                  ReplacementInfo("b"), ReplacementInfo("a")))
    assert both.targets == ("a", "b")
    assert replace(both, replacements=()).targets == ("old-style",)  # older producers
    assert replace(both, doc_type=BusinessType.UPDATE).targets == ("old-style",)
    assert replace(both, doc_type=BusinessType.NEW).targets == ()


# --- item 18: lengths, foreign attributes -------------------------------------------------

CLEAN = (CASES / "ok-edoc-clean-base.edxml").read_text(encoding="utf-8")
LENGTH_FIELDS = sorted(set(STANDARD) - {"ToPlace"})  # ToPlace is ToPlaces/Place


def _with_field(tag: str, value: str) -> bytes:
    import re
    out, n = re.subn(rf"<edXML:{tag}>[^<]*</edXML:{tag}>",
                     lambda _m: f"<edXML:{tag}>{value}</edXML:{tag}>", CLEAN, count=1)
    assert n == 1, tag
    return out.encode("utf-8")


@PROPERTY
@given(st.sampled_from(LENGTH_FIELDS), st.data())
def test_over_the_standard_warns_and_over_the_hard_bound_refuses(
    tag: str, data: st.DataObject
) -> None:
    standard, hard = STANDARD[tag], HARD[tag]
    assert hard >= 4 * standard and hard >= 64
    length = data.draw(st.integers(standard + 1, hard))
    result = VALIDATOR.check(_with_field(tag, "x" * length))
    assert result.valid, result.errors
    assert {w.code for w in result.warnings} == {errors.FIELD_OVER_STANDARD}
    longer = data.draw(st.integers(hard + 1, hard + 200))
    refused = VALIDATOR.check(_with_field(tag, "x" * longer))
    assert refused.errors and refused.errors[0].code is errors.FIELD_TOO_LONG


@pytest.mark.parametrize("attributes", [
    'xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="cid:{cid}" xlink:type="simple"',
    'xmlns:xlink="http://www.w3.org/1999/xlink" xlink:type="simple"',
    'xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="{cid}"',
    'xmlns:eb="http://www.oasis-open.org/committees/ebxml-msg/schema/msg-header-2_0.xsd" '
    'eb:id="r1"',
])
def test_foreign_attributes_on_reference_are_tolerated(attributes: str) -> None:
    cid = "36b8a92e-f054-11e7-842b-005056b672fc"
    raw = CLEAN.replace("<edXML:Reference>",
                        f"<edXML:Reference {attributes.format(cid=cid)}>", 1)
    result = VALIDATOR.check(raw.encode("utf-8"))
    assert result.errors == () and result.warnings == (), result.errors
