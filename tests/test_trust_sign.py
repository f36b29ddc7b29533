"""Signing what the node emits; the node's own key and certificate."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from trust_support import AT, LIMITS, OTHER, SENDER, World, fixture, header_of, parse, q, world

from axis import errors
from axis.edxml.model import DSIG_NS
from axis.settings import Settings, TrustSettings
from axis.trust import pki
from axis.trust.algorithms import Profile
from axis.trust.bindings import FingerprintBindings, default_bindings
from axis.trust.chain import TrustAnchors
from axis.trust.sign import NodeSigner, ensure_node_identity, node_signer
from axis.trust.verdict import State, fingerprint
from axis.trust.verify import Verifier

__all__ = ["world"]
DS = "{" + DSIG_NS + "}"


def test_signature_profile_and_place(world: World) -> None:
    root = parse(world["g22"].sign(fixture()))
    header = header_of(root)
    last = list(header.iterchildren("*"))[-1]
    assert last.tag == DS + "Signature"
    assert len(root.findall(f".//{DS}Signature")) == 1
    algs = [e.get("Algorithm") for e in last.iter() if e.get("Algorithm")]
    assert algs == [
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/04/xmlenc#sha256",
    ]
    (ref,) = last.iter(DS + "Reference")
    assert ref.get("URI") == ""
    certs = last.findall(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    assert len(certs) == 2  # the signer's certificate, then its intermediate


def test_re_signing_replaces_the_old_signature(world: World) -> None:
    once = world["g22"].sign(fixture())
    twice = world["g22"].sign(once)
    root = parse(twice)
    assert len(root.findall(f".//{DS}Signature")) == 1
    assert header_of(root).find(q("Signature")) is None
    assert world.verifier().verify(twice, AT).verified


def test_ecdsa_key_signs_ecdsa_sha256(world: World, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = pki.issue_cert(world.inter_key, world.inter, pki.subject("ec", agency_id=SENDER),
                          key.public_key(), AT)
    raw = NodeSigner(key, cert, (world.inter,)).sign(fixture())
    assert b"ecdsa-sha256" in raw
    assert world.verifier().verify(raw, AT).state is State.VERIFIED


def test_key_and_certificate_must_match(world: World) -> None:
    with pytest.raises(errors.AxisError) as info:
        NodeSigner(world["h41"].key, world["g22"].cert)
    assert info.value.code is errors.CONFIG_INVALID


def test_a_root_with_an_id_cannot_be_signed_whole(world: World) -> None:
    raw = fixture().replace(b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">',
                            b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" Id="r">', 1)
    assert b'Id="r"' in raw
    with pytest.raises(errors.AxisError) as info:
        world["g22"].sign(raw)
    assert info.value.code is errors.SIGNING_FAILED


def test_node_identity_is_generated_once(tmp_path: Path) -> None:
    ident = ensure_node_identity(tmp_path, AT)
    assert ident.key_path == tmp_path / "node" / "node.key"
    assert stat.S_IMODE(ident.key_path.stat().st_mode) == 0o600
    pem = ident.cert_path.read_bytes()
    again = ensure_node_identity(tmp_path, AT)
    assert again == ident and ident.cert_path.read_bytes() == pem


def test_node_signs_its_status_packages_verifiably(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    signer = node_signer(settings, AT)
    status = signer.sign(fixture("status-02.edxml"))  # a status the node emits (From H41)
    node_cert = pki.load_certs(tmp_path / "node" / "node.pem")[0]
    # A recipient that installed the node's certificate and bound it to the node's
    # agency verifies what the node signed.
    verifier = Verifier(profile=Profile(), anchors=TrustAnchors([node_cert]),
                        bindings=default_bindings(FingerprintBindings(
                            {fingerprint(node_cert): [OTHER]})), limits=LIMITS)
    assert verifier.verify(status, AT).state is State.VERIFIED


def test_configured_node_key_and_certificate(world: World, tmp_path: Path) -> None:
    key, cert = world["g22"].write(tmp_path, "node")
    settings = Settings(data_dir=tmp_path / "var",
                        trust=TrustSettings(node_key=key, node_cert=cert))
    signer = node_signer(settings, AT)
    assert signer.cert == world["g22"].cert and signer.chain == (world.inter,)
    assert not (tmp_path / "var" / "node").exists()  # nothing generated
    half = Settings(data_dir=tmp_path, trust=TrustSettings(node_key=key))
    with pytest.raises(errors.AxisError) as info:
        node_signer(half, AT)
    assert info.value.code is errors.CONFIG_INVALID


def test_a_text_node_over_10_mb_signs_and_verifies(world: World) -> None:
    """libxml2 refuses text nodes over 10 MB unless told otherwise: signxml's re-parsing
    must use the node's parser (a 50 MB package is legal)."""
    raw = fixture()
    start = raw.index(b"UEsDBBQACAgIAGd5i04")
    end = raw.index(b"</edXML:ContentTransferEncoded>")
    big = raw[:start] + b"QUFB" * (11 * 1024 * 1024 // 4) + raw[end:]
    signed = world["g22"].sign(big)
    verdict = world.verifier().verify(signed, AT)
    assert verdict.state is State.VERIFIED, verdict.reason
    assert verdict.signed_root is not None


def _make_identity(data_dir: str) -> None:
    ensure_node_identity(Path(data_dir), AT)


def test_processes_starting_together_agree_on_one_identity(tmp_path: Path) -> None:
    """`axis serve` and `axis worker` started at once on a fresh data directory: every
    process ends with the same key, and the key matches the certificate."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_make_identity, args=(str(tmp_path),)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ident = ensure_node_identity(tmp_path, AT)
    signer = NodeSigner.from_files(ident.key_path, ident.cert_path)  # raises on a mismatch
    assert signer is not None
