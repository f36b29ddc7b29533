"""The real packages: never `verified` as received (placeholders or nothing, spec §6);
re-signed at test time, every one is `verified` and reads as a valid package."""

from __future__ import annotations

import pytest
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from trust_support import AT, FIXTURES, LIMITS, Party, World, parse, sign_with, world

from axis.edxml.validate import Validator
from axis.settings import load_settings
from axis.trust.policy import TrustPolicy
from axis.trust.signed import verify_and_read
from axis.trust.verdict import State
from axis.trust.verify import Verifier, sender_of

__all__ = ["world"]

NAMES = sorted(p.name for p in FIXTURES.glob("*.edxml"))


def test_there_are_fixtures() -> None:
    assert len(NAMES) >= 12


def agency_party(world: World, raw: bytes) -> Party:
    """A certificate for the fixture's own sender, issued by the test CA."""
    sender = sender_of(parse(raw))
    name = f"fixture-{sender}"
    if name not in world.parties:
        world.add(name, agency_id=sender, key_name="fixture-agencies")
    return world[name]


@pytest.mark.parametrize("name", NAMES)
def test_fixture_as_received_is_never_verified(name: str, world: World) -> None:
    raw = (FIXTURES / name).read_bytes()
    verdict = world.verifier().verify(raw, AT)
    expected = State.ABSENT if name.startswith("status-") else State.PLACEHOLDER
    assert verdict.state is expected, verdict.reason
    assert verdict.signed_root is None and verdict.unsigned_root is not None
    # The node as configured by default (packaged anchors dir: empty) agrees.
    default = Verifier.from_settings(load_settings()).verify(raw, AT)
    assert default.state is expected


@pytest.mark.parametrize("name", NAMES)
def test_fixture_re_signed_is_verified_and_valid(name: str, world: World) -> None:
    raw = (FIXTURES / name).read_bytes()
    party = agency_party(world, raw)
    signed = party.sign(raw)
    trusted = verify_and_read(signed, AT, verifier=world.verifier(), validator=Validator(LIMITS),
                              policy=TrustPolicy())
    assert trusted.verdict.state is State.VERIFIED
    assert trusted.verdict.signer is not None
    assert trusted.verdict.signer.agency_id == trusted.package.sender_id
    assert not trusted.admission.warnings
    # What was read from the signed content is what the raw package says (no comments
    # or other unsigned content in these files).
    as_received = Validator(LIMITS).check(raw).package
    assert as_received is not None
    assert trusted.package.recipient_ids == as_received.recipient_ids
    assert trusted.package.sender_id == as_received.sender_id


@pytest.mark.parametrize("name", ["edoc-2019-small.edxml", "status-05-bkav.edxml"])
def test_fixture_re_signed_with_the_legacy_profile(name: str, world: World) -> None:
    raw = (FIXTURES / name).read_bytes()
    signed = sign_with(raw, agency_party(world, raw), method=SignatureMethod.RSA_SHA1,
                       digest=DigestAlgorithm.SHA1)
    assert world.verifier().verify(signed, AT).state is State.INVALID
    on = world.verifier(allow_sha1=True).verify(signed, AT)
    assert on.state is State.VERIFIED and on.legacy_sha1


def test_fixture_signatures_are_real_placeholders() -> None:
    """What makes them placeholders (spec §6): unqualified Signature in the edXML
    namespace, a truncated certificate."""
    small = (FIXTURES / "edoc-2019-small.edxml").read_bytes()
    assert b"<Signature>" in small and b"<ds:Signature" not in small
    new = (FIXTURES / "edoc-new.edxml").read_bytes()
    assert b"<X509Certificate>MIIFqTCCBJG</X509Certificate>" in new
