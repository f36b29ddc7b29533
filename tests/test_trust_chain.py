"""Whose key: chains to installed anchors, government-CA profiles, validity at receipt."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from trust_support import AT, SENDER, Party, World, fixture, rsa_key, world

from axis import errors
from axis.trust import pki
from axis.trust.chain import ChainValidator, TrustAnchors
from axis.trust.verdict import State

__all__ = ["world"]


def expect(code: errors.Code, fn: object, *args: object) -> errors.AxisError:
    with pytest.raises(errors.AxisError) as info:
        fn(*args)  # type: ignore[operator]
    assert info.value.code is code, info.value
    return info.value


def test_non_webpki_government_chain_is_accepted(world: World) -> None:
    """The intermediate has basicConstraints NOT critical and no KeyUsage; the leaf has no
    KeyUsage either. A WebPKI verifier refuses such a chain; Axis accepts it because it
    chains (the issue: government CAs are not WebPKI)."""
    bc = world.inter.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical is False and bc.value.ca is True
    with pytest.raises(x509.ExtensionNotFound):
        world.inter.extensions.get_extension_for_class(x509.KeyUsage)
    leaf = world["nokeyusage"].cert
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.KeyUsage)

    # cryptography's verifier with the most permissive leaf policy it allows, and the
    # WebPKI CA policy (what signxml's own chain check uses): refused for criticality.
    webpki = (PolicyBuilder().store(Store([world.root])).time(AT)
              .extension_policies(ee_policy=ExtensionPolicy.permit_all(),
                                  ca_policy=ExtensionPolicy.webpki_defaults_ca())
              .build_client_verifier())
    with pytest.raises(VerificationError, match="criticality"):
        webpki.verify(world["g22"].cert, [world.inter])

    chain = ChainValidator(world.anchors()).validate(leaf, AT)
    assert chain.certs == (leaf, world.inter, world.root)
    verdict = world.verifier().verify(world["nokeyusage"].sign(fixture()), AT)
    assert verdict.state is State.VERIFIED, verdict.reason


def test_ca_without_basic_constraints_installed_by_the_operator(tmp_path: Path) -> None:
    key = rsa_key("old-root")
    old_root = pki.self_signed(key, pki.subject("Old v1-style root"), AT, ca=True,
                               basic_constraints=None, key_usage=False)
    leaf_key = rsa_key("g22")
    leaf = pki.issue_cert(key, old_root, pki.subject("x", agency_id=SENDER),
                          leaf_key.public_key(), AT)
    chain = ChainValidator(TrustAnchors([old_root])).validate(leaf, AT)
    assert chain.certs == (leaf, old_root)


def test_end_entity_certificate_cannot_issue(world: World) -> None:
    """A leaf (cA false) of the trusted CA signs a 'sub-certificate': refused, even when
    the attacker ships his whole chain in KeyInfo and even if that leaf were installed."""
    g22 = world["g22"]
    sub_key = rsa_key("attacker")
    sub = pki.issue_cert(g22.key, g22.cert, pki.subject("sub", agency_id=SENDER),
                         sub_key.public_key(), AT)
    expect(errors.CERTIFICATE_UNTRUSTED, ChainValidator(world.anchors()).validate, sub, AT)
    installed = TrustAnchors([*world.anchors().certs, g22.cert])
    expect(errors.CERTIFICATE_UNTRUSTED, ChainValidator(installed).validate, sub, AT)


def test_path_length_constraint(tmp_path: Path) -> None:
    root_key, inter_key = rsa_key("root"), rsa_key("intermediate")
    root = pki.self_signed(root_key, pki.subject("Root pathlen 0"), AT, ca=True,
                           path_length=0)
    inter = pki.issue_cert(root_key, root, pki.subject("Intermediate"), inter_key.public_key(),
                           AT, ca=True)
    leaf = pki.issue_cert(inter_key, inter, pki.subject("leaf", agency_id=SENDER),
                          rsa_key("g22").public_key(), AT)
    err = expect(errors.CERTIFICATE_UNTRUSTED,
                 ChainValidator(TrustAnchors([root, inter])).validate, leaf, AT)
    assert "does not validly issue" in err.detail
    # Anchored at the intermediate alone (root not installed): accepted.
    assert ChainValidator(TrustAnchors([inter])).validate(leaf, AT).certs == (leaf, inter)


def test_a_ca_with_the_same_name_but_another_key_is_not_the_ca(world: World) -> None:
    spoof_key = rsa_key("spoof")
    spoof = pki.self_signed(spoof_key, world.inter.subject, AT, ca=True)
    leaf = pki.issue_cert(spoof_key, spoof, pki.subject("x", agency_id=SENDER),
                          rsa_key("g22").public_key(), AT)
    expect(errors.CERTIFICATE_UNTRUSTED, ChainValidator(world.anchors()).validate, leaf, AT)


def test_validity_is_judged_at_each_receipt_time_despite_the_cache(world: World) -> None:
    validator = ChainValidator(world.anchors())
    leaf = world["g22"].cert
    validator.validate(leaf, AT)
    expect(errors.CERTIFICATE_EXPIRED, validator.validate, leaf, AT + timedelta(days=800))
    expect(errors.CERTIFICATE_NOT_YET_VALID, validator.validate, leaf, AT - timedelta(days=30))
    validator.validate(leaf, AT + timedelta(days=30))


def test_expired_intermediate_is_refused(world: World) -> None:
    inter_key = rsa_key("intermediate")
    old_inter = pki.issue_cert(world.root_key, world.root, pki.subject("Old CA"),
                               inter_key.public_key(), AT, ca=True,
                               not_before=AT - timedelta(days=900),
                               not_after=AT - timedelta(days=10))
    leaf = pki.issue_cert(inter_key, old_inter, pki.subject("x", agency_id=SENDER),
                          rsa_key("g22").public_key(), AT)
    validator = ChainValidator(TrustAnchors([world.root, old_inter]))
    err = expect(errors.CERTIFICATE_EXPIRED, validator.validate, leaf, AT)
    assert "issuer certificate" in err.detail


def test_leaf_key_usage_must_allow_signing(world: World) -> None:
    leaf = (x509.CertificateBuilder()
            .subject_name(pki.subject("enc only", agency_id=SENDER))
            .issuer_name(world.inter.subject)
            .public_key(rsa_key("g22").public_key())
            .serial_number(7).not_valid_before(AT - timedelta(days=1))
            .not_valid_after(AT + timedelta(days=10))
            .add_extension(x509.KeyUsage(False, False, True, False, False, False, False,
                                         False, False), critical=True)
            .sign(world.inter_key, hashes.SHA256()))
    expect(errors.CERTIFICATE_UNTRUSTED, ChainValidator(world.anchors()).validate, leaf, AT)


def test_anchors_from_a_directory(world: World, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a certificate")
    (tmp_path / "root.cer").write_bytes(world.root.public_bytes(Encoding.DER))
    pki.write_cert(tmp_path / "both.pem", world.inter, world.root)
    anchors = TrustAnchors.from_dir(tmp_path)
    assert len(anchors) == 2  # deduplicated by fingerprint
    assert len(TrustAnchors.from_dir(tmp_path / "missing")) == 0
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nxx\n")
    with pytest.raises(errors.AxisError) as info:
        TrustAnchors.from_dir(tmp_path)
    assert info.value.code is errors.CONFIG_INVALID


def test_weak_rsa_key_is_refused(world: World) -> None:
    key = rsa_key("small", 1024)
    cert = pki.issue_cert(world.inter_key, world.inter, pki.subject("s", agency_id=SENDER),
                          key.public_key(), AT)
    raw = Party(key, cert, (world.inter,)).sign(fixture())
    verdict = world.verifier().verify(raw, AT)
    assert verdict.code is errors.ALGORITHM_FORBIDDEN and "1024" in verdict.reason
