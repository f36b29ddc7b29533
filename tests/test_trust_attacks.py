"""The attack corpus (tests/cases/trust/attacks.toml): each attack is built here from a
fixture package freshly signed at test time, and must get its expected verdict code."""

from __future__ import annotations

import base64
import contextlib
import copy
import os
import socket
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.verifier import SignatureConfiguration, XMLVerifier
from trust_support import (
    AT,
    CASES,
    OTHER,
    SECRET,
    SENDER,
    World,
    fixture,
    header_of,
    parse,
    q,
    replace_once,
    serialize,
    sign_reference,
    sign_with,
    world,
)

from axis.edxml.model import DSIG_NS
from axis.edxml.validate import Validator
from axis.errors import AxisError
from axis.trust.policy import TrustPolicy
from axis.trust.signed import verify_and_read
from axis.trust.verdict import State, Verdict
from axis.trust.verify import Verifier

__all__ = ["world"]  # the module-scoped fixture, imported for pytest

DS = "{" + DSIG_NS + "}"
MANIFEST = tomllib.loads((CASES / "attacks.toml").read_text(encoding="utf-8"))["attack"]
SIGNED_RECIPIENT = "000.00.01.H371"  # what the sender signed
NAIVE_RECIPIENT = "000.00.01.H37"  # what a reader of the raw tree would route to


@dataclass
class Sentinels:
    """Resources an attack points its Reference at: nobody may touch them."""

    fifo: Path  # opening it for reading blocks: verification would not return
    listener: socket.socket  # a connection to it would wait in the backlog

    @property
    def url(self) -> str:
        host, port = self.listener.getsockname()
        return f"http://{host}:{port}/secret.xml"

    def untouched(self) -> bool:
        self.listener.setblocking(False)
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return True
        conn.close()
        return False

    def release(self) -> None:
        """Unblock a reader stuck on the FIFO (only after a failure)."""
        with contextlib.suppress(OSError):
            os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sentinels]:
    fifo = tmp_path_factory.mktemp("sentinel") / "secret.xml"
    os.mkfifo(fifo)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    yield Sentinels(fifo, listener)
    listener.close()


# --- builders ---------------------------------------------------------------------------
Build = Callable[[World, Sentinels], bytes]
BUILDERS: dict[str, Build] = {}
VERIFIERS: dict[str, Callable[[World], Verifier]] = {}


def attack(name: str) -> Callable[[Build], Build]:
    def register(fn: Build) -> Build:
        BUILDERS[name] = fn
        return fn
    return register


def child(el: etree._Element, path: str) -> etree._Element:
    found = el.find(path)
    assert found is not None, path
    return found


def signed(w: World, party: str = "g22", raw: bytes | None = None) -> bytes:
    return w[party].sign(raw if raw is not None else fixture())


@attack("tampered_attachment_byte")
def _(w: World, s: Sentinels) -> bytes:
    return replace_once(signed(w), b"UEsDBBQACAgIAGd5i04", b"UEsDBBQACAgIAGd5i05")


@attack("tampered_recipient")
def _(w: World, s: Sentinels) -> bytes:
    return replace_once(signed(w), f">{OTHER}<".encode(), b">000.00.01.H37<")


@attack("tampered_sender")
def _(w: World, s: Sentinels) -> bytes:
    return replace_once(signed(w), f">{SENDER}<".encode(), f">{OTHER}<".encode())


@attack("comment_in_recipient")
def _(w: World, s: Sentinels) -> bytes:
    raw = replace_once(fixture(), f">{OTHER}<".encode(), f">{SIGNED_RECIPIENT}<".encode())
    return replace_once(signed(w, raw=raw), f">{SIGNED_RECIPIENT}<".encode(),
                        f">{NAIVE_RECIPIENT}<!--x-->1<".encode())


def _forged_header(header: etree._Element) -> etree._Element:
    forged = copy.deepcopy(header)
    for organ in forged.iter(q("OrganId")):
        if organ.text == OTHER:
            organ.text = "000.00.01.H37"
    return forged


@attack("wrapping_moved_header")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w))
    header = header_of(root)
    envelope = header.getparent()
    assert envelope is not None
    forged = _forged_header(header)
    forged.remove(child(forged, DS + "Signature"))
    envelope.replace(header, forged)
    wrapper = etree.SubElement(envelope, "{urn:attacker}Wrapper")
    wrapper.append(header)
    return serialize(root)


@attack("wrapping_forged_header_keeps_signature")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w))
    header = header_of(root)
    envelope = header.getparent()
    assert envelope is not None
    forged = _forged_header(header)  # the signature, copied along, is its last child
    envelope.replace(header, forged)
    header.remove(child(header, DS + "Signature"))
    etree.SubElement(envelope, "{urn:attacker}Wrapper").append(header)
    return serialize(root)


@attack("second_signature")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w))
    header = header_of(root)
    header.append(copy.deepcopy(child(header, DS + "Signature")))
    return serialize(root)


@attack("duplicate_ids")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(fixture())
    header = header_of(root)
    child(header, q("MessageHeader")).set("Id", "hdr")
    child(header, q("TraceHeaderList")).set("Id", "hdr")
    return signed(w, raw=serialize(root))


@attack("reference_local_file")
def _(w: World, s: Sentinels) -> bytes:
    return sign_reference(w, s.fifo.as_uri(), SECRET)


@attack("reference_remote_url")
def _(w: World, s: Sentinels) -> bytes:
    return sign_reference(w, s.url, SECRET)


@attack("keyinfo_retrieval_method")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w))
    key_info = child(root, f".//{DS}KeyInfo")
    etree.SubElement(key_info, DS + "RetrievalMethod", URI=s.fifo.as_uri(),
                     Type="http://www.w3.org/2000/09/xmldsig#rawX509Certificate")
    return serialize(root)


@attack("reference_same_document_id")
def _(w: World, s: Sentinels) -> bytes:
    return sign_reference(w, "#hdr", b"", transforms=(
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",))


@attack("xslt_transform")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w))
    holder = root.find(f".//{DS}Reference/{DS}Transforms")
    assert holder is not None
    etree.SubElement(holder, DS + "Transform",
                     Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116")
    return serialize(root)


@attack("attacker_self_signed_certificate")
def _(w: World, s: Sentinels) -> bytes:
    return signed(w, "attacker")


@attack("attacker_certificate_unbound")
def _(w: World, s: Sentinels) -> bytes:
    return signed(w, "unnamed")


@attack("attacker_swaps_certificate")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w, "attacker"))
    cert = root.find(f".//{DS}X509Certificate")
    assert cert is not None
    cert.text = base64.b64encode(w["g22"].cert.public_bytes(Encoding.DER)).decode()
    return serialize(root)


@attack("other_agency_signature")
def _(w: World, s: Sentinels) -> bytes:
    return signed(w, "h41")


@attack("expired_certificate")
def _(w: World, s: Sentinels) -> bytes:
    return signed(w, "expired")


@attack("not_yet_valid_certificate")
def _(w: World, s: Sentinels) -> bytes:
    return signed(w, "future")


@attack("revoked_certificate")
def _(w: World, s: Sentinels) -> bytes:
    return signed(w, "revoked")


@attack("sha1_setting_off")
def _(w: World, s: Sentinels) -> bytes:
    return sign_with(fixture(), w["g22"], method=SignatureMethod.RSA_SHA1,
                     digest=DigestAlgorithm.SHA1)


@attack("placeholder_signature")
def _(w: World, s: Sentinels) -> bytes:
    return fixture()


@attack("no_signature")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w))
    header = header_of(root)
    header.remove(child(header, DS + "Signature"))
    return serialize(root)


@attack("signature_outside_header")
def _(w: World, s: Sentinels) -> bytes:
    root = parse(signed(w))
    header = header_of(root)
    sig = header.find(DS + "Signature")
    assert sig is not None and header.getparent() is not None
    header.getparent().append(sig)  # type: ignore[union-attr]
    return serialize(root)


@attack("signature_with_comments_c14n")
def _(w: World, s: Sentinels) -> bytes:
    return sign_with(fixture(), w["g22"],
                     c14n=CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS)


# --- the corpus -------------------------------------------------------------------------
def verify_bounded(verifier: Verifier, raw: bytes, s: Sentinels) -> Verdict:
    """Verify in a worker with a deadline: a verifier that opened the FIFO would hang."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(verifier.verify, raw, AT)
        try:
            return future.result(timeout=60)
        except FutureTimeout:
            s.release()
            pytest.fail("verification blocked: something opened the Reference's file")


def test_manifest_and_builders_agree() -> None:
    names = [a["name"] for a in MANIFEST]
    assert len(names) == len(set(names))
    assert set(names) == set(BUILDERS)
    required = {  # the list
        "tampered_attachment_byte", "tampered_recipient", "comment_in_recipient",
        "wrapping_moved_header", "duplicate_ids", "reference_local_file",
        "reference_remote_url", "attacker_self_signed_certificate",
        "attacker_certificate_unbound", "other_agency_signature", "expired_certificate",
        "revoked_certificate", "sha1_setting_off", "placeholder_signature", "no_signature",
    }
    assert required <= set(names)
    for a in MANIFEST:
        assert a["description"].strip() and a["expected"]


@pytest.mark.parametrize("case", MANIFEST, ids=[a["name"] for a in MANIFEST])
def test_attack_gets_its_expected_verdict(
    case: dict[str, str], world: World, sentinels: Sentinels
) -> None:
    raw = BUILDERS[case["name"]](world, sentinels)
    if case["expected"].startswith("edxml."):  # refused by the parser, before any verdict
        with pytest.raises(AxisError) as caught:
            verify_bounded(world.verifier(), raw, sentinels)
        assert caught.value.code.id == case["expected"]
        return
    verdict = verify_bounded(world.verifier(), raw, sentinels)
    assert sentinels.untouched(), "the verifier connected to the Reference's URL"
    if case["expected"] == "verified":
        assert verdict.state is State.VERIFIED, (verdict.code, verdict.reason)
        return
    assert verdict.code is not None, "expected a refusal, got verified"
    assert verdict.code.id == case["expected"], verdict.reason
    assert verdict.signed_root is None
    expected_state = {"trust.signature_absent": State.ABSENT,
                      "trust.signature_placeholder": State.PLACEHOLDER}
    assert verdict.state is expected_state.get(case["expected"], State.INVALID)


def test_comment_in_recipient_is_refused(world: World, sentinels: Sentinels) -> None:
    """The signature still verifies (C14N drops the comment), yet the signed value and what
    a reader of the forwarded bytes sees differ: refused on every path (issue 8, item 15)."""
    raw = BUILDERS["comment_in_recipient"](world, sentinels)
    validator = Validator(world.verifier().limits)
    assert validator.check(raw).errors[0].code.id == "edxml.markup_in_field"
    with pytest.raises(AxisError) as caught:
        verify_and_read(raw, AT, verifier=world.verifier(), validator=validator,
                        policy=TrustPolicy())
    assert caught.value.code.id == "edxml.markup_in_field"


@pytest.mark.parametrize("name", ["reference_local_file", "reference_remote_url"])
def test_external_reference_is_a_genuine_signature_refused_unread(
    name: str, world: World, sentinels: Sentinels
) -> None:
    """The forged Reference is cryptographically valid: a verifier that dereferenced it
    (signxml given a resolver) would accept the package. Axis refuses it by its URI."""
    raw = BUILDERS[name](world, sentinels)
    config = SignatureConfiguration(
        location=".//", verification_time=AT, expect_references=1)
    result = XMLVerifier().verify(parse(raw), x509_cert=world["g22"].cert,
                                  uri_resolver=lambda uri: SECRET, expect_config=config)
    assert not isinstance(result, list) and result.signed_data == SECRET
    verdict = verify_bounded(world.verifier(), raw, sentinels)
    assert verdict.code is not None and verdict.code.id == "trust.reference_forbidden"
    assert sentinels.untouched()
