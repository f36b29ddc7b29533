"""Policy: only `verified` by default; the migration exception list; warnings to journal;
and `verify_and_read`, the path on which later stages read only what was signed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from trust_support import AT, LIMITS, OTHER, SENDER, World, fixture, replace_once, world

from axis import errors
from axis.edxml.model import SignatureState, StatusPackage
from axis.edxml.validate import Validator
from axis.errors import NodeFault, SenderFault, Severity
from axis.settings import Settings, TrustSettings
from axis.trust import setup
from axis.trust.policy import TrustPolicy, decide
from axis.trust.signed import verify_and_read
from axis.trust.verdict import Revocation, SignerInfo, State, Verdict

__all__ = ["world"]

STATUS = "status-01.edxml"  # unsigned; From 000.00.00.H41


def test_verified_is_admitted_without_warning() -> None:
    v = Verdict(State.VERIFIED, signer=SignerInfo("CN=x", "ab", SENDER),
                revocation=Revocation.GOOD)
    admission = decide(TrustPolicy(), v, SENDER)
    assert admission.signed and admission.warnings == ()


def test_legacy_sha1_is_admitted_with_a_warning() -> None:
    v = Verdict(State.VERIFIED, legacy_sha1=True, signer=SignerInfo("CN=x", "ab", SENDER))
    (warning,) = decide(TrustPolicy(), v, SENDER).warnings
    assert warning.code is errors.LEGACY_SHA1_ADMITTED
    assert warning.code.severity is Severity.WARNING


@pytest.mark.parametrize("state,code", [
    (State.ABSENT, errors.SIGNATURE_ABSENT), (State.PLACEHOLDER, errors.SIGNATURE_PLACEHOLDER)])
def test_unsigned_refused_unless_the_sender_is_on_the_exception_list(
    state: State, code: errors.Code
) -> None:
    v = Verdict(state, code, "x")
    with pytest.raises(SenderFault) as info:
        decide(TrustPolicy(), v, SENDER)
    assert info.value.code is code
    with pytest.raises(SenderFault):
        decide(TrustPolicy.of([OTHER]), v, SENDER)
    admission = decide(TrustPolicy.of([SENDER]), v, SENDER)
    assert not admission.signed
    (warning,) = admission.warnings
    assert warning.code is errors.UNSIGNED_ADMITTED and SENDER in warning.detail
    assert warning.code.severity is Severity.WARNING


def test_invalid_is_never_admitted_and_revocation_unknown_is_the_nodes_fault() -> None:
    policy = TrustPolicy.of([SENDER])
    with pytest.raises(SenderFault):
        decide(policy, Verdict(State.INVALID, errors.SIGNER_NOT_SENDER, "x"), SENDER)
    with pytest.raises(NodeFault):
        decide(policy, Verdict(State.INVALID, errors.REVOCATION_UNKNOWN, "stale"), SENDER)


def test_policy_from_settings() -> None:
    settings = TrustSettings(admit_unsigned=(" 000.00.00.H41 ", ""))
    assert TrustPolicy.from_settings(settings).admit_unsigned == frozenset({OTHER})
    assert TrustSettings().admit_unsigned == () and TrustSettings().allow_sha1 is False


# --- verify_and_read --------------------------------------------------------------------
def test_verified_package_is_read_from_the_signed_content(world: World) -> None:
    trusted = verify_and_read(world["g22"].sign(fixture()), AT, verifier=world.verifier(),
                              validator=Validator(LIMITS), policy=TrustPolicy())
    assert trusted.package.sender_id == SENDER
    assert OTHER in trusted.package.recipient_ids
    assert trusted.package.signature is SignatureState.PRESENT
    assert trusted.admission.signed and trusted.check.valid
    signed_root = trusted.verdict.signed_root
    assert signed_root is not None
    assert not signed_root.xpath("//comment()")  # canonical, comment-free
    assert not signed_root.xpath("//*[local-name()='Signature']")  # enveloped: removed


def test_status_package_verifies_and_reads(world: World) -> None:
    raw = world["h41"].sign(fixture(STATUS))
    trusted = verify_and_read(raw, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                              policy=TrustPolicy())
    assert isinstance(trusted.package, StatusPackage)
    assert trusted.package.sender_id == OTHER and trusted.verdict.verified


def test_unsigned_status_admitted_for_a_migrating_agency(world: World) -> None:
    raw = fixture(STATUS)
    with pytest.raises(SenderFault) as info:
        verify_and_read(raw, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                        policy=TrustPolicy())
    assert info.value.code is errors.SIGNATURE_ABSENT
    trusted = verify_and_read(raw, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                              policy=TrustPolicy.of([OTHER]))
    assert trusted.package.signature is SignatureState.ABSENT
    assert not trusted.admission.signed
    assert [w.code for w in trusted.admission.warnings] == [errors.UNSIGNED_ADMITTED]


def test_placeholder_admitted_only_for_its_own_sender(world: World) -> None:
    raw = fixture()  # placeholder; From 000.00.00.G22
    with pytest.raises(SenderFault) as info:
        verify_and_read(raw, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                        policy=TrustPolicy.of([OTHER]))
    assert info.value.code is errors.SIGNATURE_PLACEHOLDER
    ok = verify_and_read(raw, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                         policy=TrustPolicy.of([SENDER]))
    assert ok.package.signature is SignatureState.PLACEHOLDER


def test_trust_refusal_comes_before_anything_is_read(world: World) -> None:
    tampered = replace_once(world["g22"].sign(fixture()), OTHER.encode(), b"000.00.01.H37")
    with pytest.raises(SenderFault) as info:
        verify_and_read(tampered, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                        policy=TrustPolicy.of([SENDER]))  # the exception list does not help
    assert info.value.code is errors.SIGNATURE_INVALID


def test_a_processing_instruction_in_a_signed_value_is_refused(world: World) -> None:
    """A PI inside a routed field is refused from the sender's bytes before any signature
    check (issue 8, item 15; it would also alter the C14N output)."""
    raw = replace_once(world["g22"].sign(fixture()), f">{OTHER}<".encode(),
                       b">000.00.00.H4<?x?>1<")
    with pytest.raises(SenderFault) as caught:
        world.verifier().verify(raw, AT)
    assert caught.value.code is errors.MARKUP_IN_FIELD


def test_verification_leaves_the_bytes_untouched(world: World) -> None:
    """Packages are forwarded byte-identical: nothing in the trust stage rewrites them."""
    raw = world["g22"].sign(fixture())
    before = bytes(raw)
    trusted = verify_and_read(raw, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                              policy=TrustPolicy())
    assert raw == before and trusted.verdict.verified
    assert world.verifier().verify(raw, AT).verified  # and still verifies as it came


def test_the_stage_from_settings_is_the_pipelines_callable(world: World, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, trust=TrustSettings(anchors_dir=world.anchors_dir,
                                                               admit_unsigned=(OTHER,)))
    stage = setup.build(settings, AT)
    trusted = stage(world["g22"].sign(fixture()), AT)
    assert trusted.signature == "verified" and trusted.package.sender_id == SENDER
    assert trusted.signer_fingerprint == world["g22"].signer().cert.fingerprint(
        hashes.SHA256()).hex()
    unsigned = stage(fixture(STATUS), AT)
    assert unsigned.signature == "absent" and unsigned.signer_fingerprint == ""
    assert errors.UNSIGNED_ADMITTED in [w.code for w in unsigned.warnings]
