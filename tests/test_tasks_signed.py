"""A package carrying the task extension, signed with a real key: the tasks are inside
the signed content, the node's checks pass on what was signed, and an independent
XMLDSig implementation (xmlsec1) agrees. xmlsec1 missing: skipped on a laptop, failed in
CI (CI=true)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tasks_support import DOC_ID, TAI_CHINH, UBND, assigning_package, entries
from test_trust_interop import _gmt, run_xmlsec
from trust_support import AT, World, world, xmlsec1

from axis.edxml.model import Organ, ResponseFor, StatusHeader, StatusPackage
from axis.edxml.validate import Validator
from axis.edxml.writer import build
from axis.settings import EdxmlSettings
from axis.tasks.extension import add_extension, read_extension
from axis.tasks.model import STATUS_FOR_EVENT, EventType, TaskEvent, TaskExtension
from axis.trust.verdict import State

__all__ = ["world"]

VALIDATOR = Validator(EdxmlSettings())


@pytest.fixture(scope="module")
def parties(world: World) -> World:
    world.add("h37", agency_id=UBND)
    world.add("stc", agency_id=TAI_CHINH)
    return world


def _events_package() -> bytes:
    event = TaskEvent(entries()[0].code, EventType.RECEIVED)
    status = StatusPackage(StatusHeader(
        Organ(TAI_CHINH), ResponseFor(UBND, document_id=DOC_ID), STATUS_FOR_EVENT[event.type]))
    return add_extension(build(status), TaskExtension(events=(event,)))


@pytest.mark.parametrize(("party", "agency", "make"), [
    ("h37", UBND, assigning_package), ("stc", TAI_CHINH, _events_package)])
def test_signed_extension_passes_the_node_checks(parties: World, party: str, agency: str,
                                                 make: Callable[[], bytes]) -> None:
    raw = make()
    signed = parties[party].sign(raw)
    verdict = parties.verifier().verify(signed, AT)
    assert verdict.state is State.VERIFIED, verdict.reason
    assert verdict.signer is not None and verdict.signer.agency_id == agency
    assert verdict.signed_root is not None
    # The pipeline reads only what was signed: the schema check and the tasks come from it.
    result = VALIDATOR.check_tree(verdict.signed_root)
    assert result.valid, result.errors
    assert read_extension(verdict.signed_root) == read_extension(raw)
    assert not read_extension(raw).empty


def test_signed_tasks_verify_with_xmlsec1_and_a_changed_deadline_does_not(
        parties: World, tmp_path: Path) -> None:
    xmlsec1()
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes((parties.anchors_dir / "root.pem").read_bytes())
    signed = parties["h37"].sign(assigning_package())
    good = tmp_path / "tasks.edxml"
    good.write_bytes(signed)
    result = run_xmlsec("--verify", "--trusted-pem", root_pem,
                        "--enabled-reference-uris", "empty", *_gmt(), good)
    assert result.returncode == 0, result.stderr
    # The deadline is signed: moving it by a day breaks the signature, in both verifiers.
    assert signed.count(b"<tk:Deadline>2026-12-15</tk:Deadline>") == 1
    moved = signed.replace(b"<tk:Deadline>2026-12-15", b"<tk:Deadline>2026-12-16")
    bad = tmp_path / "moved.edxml"
    bad.write_bytes(moved)
    assert run_xmlsec("--verify", "--trusted-pem", root_pem,
                      "--enabled-reference-uris", "empty", *_gmt(), bad).returncode != 0
    verdict = parties.verifier().verify(moved, AT)
    assert verdict.code is not None and verdict.code.id == "trust.signature_invalid"


def test_a_signed_package_gets_no_extension_added(parties: World) -> None:
    signed = parties["h37"].sign(build(StatusPackage(StatusHeader(
        Organ(UBND), ResponseFor(TAI_CHINH, document_id=DOC_ID),
        STATUS_FOR_EVENT[EventType.COMPLETION_APPROVED]))))
    with pytest.raises(ValueError, match="already signed"):
        add_extension(signed, TaskExtension(events=(
            TaskEvent(entries()[0].code, EventType.COMPLETION_APPROVED),)))
