"""The registry's business rules, on the real store (SQLite and PostgreSQL) with a fixed
clock: identifiers in both forms, transitions, history, children, import and export."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypedDict

import pytest
from store_support import BACKENDS, migrated_engine

from adapters.store.registry_repo import SqlRegistryStore
from axis import errors
from axis.clock import VN_TZ, FixedClock
from axis.errors import Code, SenderFault
from axis.registry import codec
from axis.registry.model import Agency, AgencyKind, AgencyState, DeliveryMode
from axis.registry.service import Registry

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=VN_TZ)
PC = Agency("000.00.00.H37", "", "Ủy ban nhân dân tỉnh Lạng Sơn")
VP = Agency("000.00.01.H37", "", "Văn phòng UBND tỉnh", parent_id=PC.agency_id)
SNV = Agency("000.00.02.H37", "", "Sở Nội vụ", parent_id=PC.agency_id)
TP = Agency("000.00.31.H37", "", "UBND thành phố Lạng Sơn", parent_id=PC.agency_id)
WARD = Agency("000.01.31.H37", "", "UBND phường Chi Lăng", parent_id=TP.agency_id)
G22 = Agency("000.00.00.G22", "", "Văn phòng Chính phủ", kind=AgencyKind.EXTERNAL)


class Who(TypedDict):
    actor: str
    reason: str


WHO: Who = {"actor": "admin", "reason": "Công văn 123/UBND-KGVX"}


@dataclasses.dataclass
class Env:
    registry: Registry
    clock: FixedClock


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    with migrated_engine(request.param, tmp_path) as engine:
        clock = FixedClock(T0)
        yield Env(Registry(SqlRegistryStore(engine), clock), clock)


@pytest.fixture()
def reg(env: Env) -> Registry:
    for a in (PC, VP, SNV, TP, WARD, G22):
        env.registry.add(a, **WHO)
    return env.registry


def refused(code: Code) -> pytest.RaisesExc[SenderFault]:
    return pytest.raises(SenderFault, match=code.id.replace(".", r"\."))


def test_both_identifier_forms_resolve_to_one_agency(reg: Registry) -> None:
    snv = reg.resolve("H37.02")
    assert snv.agency_id == "000.00.02.H37" and snv.short_id == "H37.02" and snv.level == 2
    assert reg.resolve(" 000.00.02.H37 ") == snv
    assert reg.resolve("H37.31.01").agency_id == WARD.agency_id
    assert reg.resolve("G22").kind is AgencyKind.EXTERNAL
    with refused(errors.REGISTRY_UNKNOWN_AGENCY):
        reg.resolve("000.00.99.H37")
    assert reg.find("H37.99") is None


def test_identifier_rules(env: Env) -> None:
    r = env.registry
    r.add(PC, **WHO)
    for bad in ("H37.05", "000.00.05.H14", "000.00.5.H37", "000 00 05 H37"):
        with refused(errors.REGISTRY_INVALID_IDENTIFIER):
            r.add(Agency(bad, "", "x", parent_id=PC.agency_id), **WHO)
    with refused(errors.REGISTRY_INVALID_IDENTIFIER):  # internal short id of another shape
        r.add(Agency("000.00.05.H37", "LS-05", "x"), **WHO)
    # Agencies elsewhere are written as they arrive: messy, but bounded and unique.
    messy = r.add(Agency("vxp.saas.02", "", "Hệ thống SaaS", kind=AgencyKind.EXTERNAL), **WHO)
    assert messy.short_id == "vxp.saas.02" and r.resolve("vxp.saas.02") == messy
    with refused(errors.REGISTRY_INVALID_IDENTIFIER):
        r.add(Agency("x" * 65, "", "quá dài", kind=AgencyKind.EXTERNAL), **WHO)
    with refused(errors.REGISTRY_DUPLICATE_AGENCY):  # the other form of an existing agency
        r.add(Agency("H37", "", "trùng", kind=AgencyKind.EXTERNAL), **WHO)
    with refused(errors.REGISTRY_DUPLICATE_AGENCY):
        r.add(PC, **WHO)


def test_fields_parent_and_reason_rules(reg: Registry) -> None:
    with refused(errors.REGISTRY_INVALID_PARENT):
        reg.add(Agency("000.00.05.H37", "", "Sở Tư pháp", parent_id="000.00.77.H37"), **WHO)
    with refused(errors.REGISTRY_INVALID_PARENT):  # a cycle
        reg.update(dataclasses.replace(reg.resolve(PC.agency_id), parent_id=WARD.agency_id),
                   **WHO)
    with refused(errors.REGISTRY_INVALID_AGENCY):
        reg.add(Agency("000.00.05.H37", "", "Sở Tư pháp", delivery_mode=DeliveryMode.PUSH),
                **WHO)
    with refused(errors.REGISTRY_INVALID_AGENCY):
        reg.add(Agency("000.00.05.H37", "", "  "), **WHO)
    with refused(errors.REGISTRY_REASON_MISSING):
        reg.suspend("H37.02", actor="admin", reason=" ")
    decomposed = unicodedata.normalize("NFD", "Sở Tư pháp")
    added = reg.add(Agency("000.00.05.H37", "", decomposed), **WHO)
    assert added.name == "Sở Tư pháp" and unicodedata.is_normalized("NFC", added.name)


def test_transitions_and_history(env: Env, reg: Registry) -> None:
    env.clock.advance(timedelta(hours=1))
    assert reg.suspend("H37.02", actor="alice", reason="mất khoá").state is AgencyState.SUSPENDED
    with refused(errors.REGISTRY_INVALID_TRANSITION):
        reg.suspend("H37.02", **WHO)
    env.clock.advance(timedelta(hours=1))
    assert reg.reactivate("000.00.02.H37", **WHO).state is AgencyState.ACTIVE
    with refused(errors.REGISTRY_INVALID_TRANSITION):
        reg.reactivate("H37.02", **WHO)
    reg.retire("H37.02", **WHO)
    for move in (reg.reactivate, reg.suspend, reg.retire):
        with refused(errors.REGISTRY_INVALID_TRANSITION):  # retired is final
            move("H37.02", **WHO)
    with refused(errors.REGISTRY_INVALID_TRANSITION):
        reg.update(dataclasses.replace(reg.resolve("H37.02"), name="khác"), **WHO)
    history = reg.history("H37.02")
    assert [h.action for h in history] == ["add", "suspend", "reactivate", "retire"]
    assert history[1].actor == "alice" and history[1].reason == "mất khoá"
    assert history[1].at == T0 + timedelta(hours=1)
    assert history[1].before is not None and history[1].after is not None
    assert (history[1].before["state"], history[1].after["state"]) == ("active", "suspended")
    assert all(h.at.utcoffset() == timedelta(hours=7) for h in history)


def test_update_keeps_history_and_ignores_no_op(reg: Registry) -> None:
    snv = reg.resolve("H37.02")
    assert reg.update(snv, **WHO) == snv
    renamed = reg.update(dataclasses.replace(snv, name="Sở Nội vụ tỉnh Lạng Sơn"), **WHO)
    assert reg.resolve("H37.02") == renamed
    assert [h.action for h in reg.history("H37.02")] == ["add", "update"]


def test_children_of_and_speaks_for(reg: Registry) -> None:
    assert {a.agency_id for a in reg.children_of("H37")} == {
        VP.agency_id, SNV.agency_id, TP.agency_id}
    assert WARD.agency_id in {a.agency_id for a in reg.children_of("H37", recursive=True)}
    assert [a.agency_id for a in reg.children_of("H37.31")] == [WARD.agency_id]
    assert reg.children_of("H37.31.01") == []
    assert reg.speaks_for("H37.31", "000.01.31.H37")
    assert reg.speaks_for("H37", "H37.31.01")
    assert not reg.speaks_for("H37.02", "H37.31")
    assert not reg.speaks_for("H37.02", "H37.99")


def test_certificates_and_credentials(reg: Registry) -> None:
    fp = "AB:" * 31 + "AB"
    bound = reg.bind_certificate("H37.02", fp, **WHO)
    assert bound.certificates == {"ab" * 32}
    assert reg.agency_for_certificate("ab" * 32) == bound
    with refused(errors.REGISTRY_CERTIFICATE_BOUND):
        reg.bind_certificate("H37.01", fp, **WHO)
    with refused(errors.REGISTRY_INVALID_CERTIFICATE):
        reg.bind_certificate("H37.01", "not-a-digest", **WHO)
    assert reg.unbind_certificate("H37.02", fp, **WHO).certificates == frozenset()

    issued = reg.issue_credential("H37.02", **WHO, system_id="snv-qlvb")
    assert issued.secret not in issued.credential.secret_hash
    assert reg.authenticate("snv-qlvb", issued.secret).agency_id == SNV.agency_id
    with refused(errors.REGISTRY_CREDENTIAL_INVALID):
        reg.authenticate("snv-qlvb", "wrong")
    with refused(errors.REGISTRY_CREDENTIAL_INVALID):
        reg.authenticate("nobody", issued.secret)
    with refused(errors.REGISTRY_DUPLICATE_CREDENTIAL):
        reg.issue_credential("H37.02", **WHO, system_id="snv-qlvb")
    reg.suspend("H37.02", **WHO)  # a suspended agency cannot authenticate either
    with refused(errors.REGISTRY_CREDENTIAL_INVALID):
        reg.authenticate("snv-qlvb", issued.secret)
    reg.reactivate("H37.02", **WHO)
    reg.revoke_credential("snv-qlvb", actor="soc", reason="lộ mật khẩu")  # Art. 22
    with refused(errors.REGISTRY_CREDENTIAL_INVALID):
        reg.authenticate("snv-qlvb", issued.secret)
    with refused(errors.REGISTRY_INVALID_TRANSITION):
        reg.revoke_credential("snv-qlvb", **WHO)
    actions = [h.action for h in reg.history("H37.02")]
    assert actions[1:] == ["bind-certificate", "unbind-certificate", "issue-credential",
                           "suspend", "reactivate", "revoke-credential"]


def test_export_import_round_trip_is_lossless(
    reg: Registry, tmp_path_factory: pytest.TempPathFactory
) -> None:
    reg.bind_certificate("H37.02", "c" * 64, **WHO)
    reg.suspend("H37.31.01", **WHO)
    reg.update(dataclasses.replace(reg.resolve("H37.01"), delivery_mode=DeliveryMode.PUSH,
                                   endpoint="https://vp.example/edxml",
                                   contact_email="vt@vp.example", note="ghi chú"), **WHO)
    before = reg.export()
    for dump, load in ((codec.dump_json, codec.load_json), (codec.dump_csv, codec.load_csv)):
        # Into an empty registry (SQLite, whichever backend exported).
        with migrated_engine("sqlite", tmp_path_factory.mktemp("fresh")) as engine:
            fresh = Registry(SqlRegistryStore(engine), FixedClock(T0))
            report = fresh.import_rows(load(dump(before)), **WHO)
            assert report.added == len(before) and report.updated == 0
            assert fresh.export() == before
            again = fresh.import_rows(load(dump(before)), **WHO)
            assert (again.added, again.updated, again.unchanged) == (0, 0, len(before))
    # Into the same registry: everything unchanged, no history written.
    assert reg.import_rows(codec.load_json(codec.dump_json(before)), **WHO).unchanged == 6
    assert len(reg.history("H37.02")) == 2


def test_import_is_all_or_nothing(reg: Registry) -> None:
    rows = codec.load_json(codec.dump_json([
        Agency("000.00.05.H37", "", "Sở Tư pháp", parent_id=PC.agency_id),
        Agency("000.00.06.H37", "", "Sở Công Thương", parent_id="000.00.05.H37"),
    ]))
    bad = [*rows, codec.Row("agencies[2]", {"agency_id": "H37.07", "name": "sai dạng"}),
           codec.Row("agencies[3]", {"agency_id": "000.00.08.H37", "name": "x",
                                     "delivery_mode": "fax"})]
    with pytest.raises(SenderFault) as caught:
        reg.import_rows(bad, **WHO)
    err = caught.value
    assert err.code is errors.REGISTRY_IMPORT_INVALID
    assert [(f.path, f.code.id) for f in err.findings] == [
        ("agencies[2]", "registry.invalid_identifier"),
        ("agencies[3]", "registry.import_invalid"),
    ]
    assert reg.find("000.00.05.H37") is None  # nothing written
    report = reg.import_rows(list(reversed(rows)), **WHO)  # child first in the file: fine
    assert (report.added, report.updated) == (2, 0)


def test_import_updates_transitions_and_partial_rows(reg: Registry) -> None:
    reg.bind_certificate("H37.02", "d" * 64, **WHO)
    report = reg.import_rows([
        codec.Row("r1", {"agency_id": "000.00.02.H37", "name": "Sở Nội vụ (mới)"}),
        codec.Row("r2", {"agency_id": "000.00.01.H37", "state": "suspended"}),
        codec.Row("r3", {"agency_id": "000.00.00.G22"}),
    ], **WHO)
    assert (report.added, report.updated, report.unchanged) == (0, 2, 1)
    snv = reg.resolve("H37.02")
    assert snv.name == "Sở Nội vụ (mới)" and snv.certificates == {"d" * 64}  # kept
    assert reg.history("H37.01")[-1].action == "suspend"
    reg.retire("H37.01", **WHO)
    with pytest.raises(SenderFault) as caught:
        reg.import_rows([codec.Row("r1", {"agency_id": "000.00.01.H37", "state": "active"})],
                        **WHO)
    assert caught.value.findings[0].code is errors.REGISTRY_INVALID_TRANSITION


def test_import_checks_rows_together(reg: Registry) -> None:
    rows = [
        codec.Row("a", {"agency_id": "000.00.05.H37", "name": "x", "certificates": ["e" * 64]}),
        codec.Row("b", {"agency_id": "000.00.06.H37", "name": "y", "certificates": ["e" * 64]}),
        codec.Row("c", {"agency_id": "000.00.05.H37", "name": "again"}),
        codec.Row("d", {"agency_id": "000.00.07.H37", "name": "z", "parent_id": "000.00.88.H37"}),
    ]
    with pytest.raises(SenderFault) as caught:
        reg.import_rows(rows, **WHO)
    got = {(f.path, f.code.id) for f in caught.value.findings}
    assert ("c", "registry.duplicate_agency") in got
    assert ("d", "registry.invalid_parent") in got
    assert any(code == "registry.certificate_bound" for _, code in got)


def test_seed_mode_adds_only_what_is_missing(reg: Registry) -> None:
    reg.suspend("H37.02", **WHO)
    rows = [codec.Row("r1", {"agency_id": "000.00.02.H37", "name": "Sở Nội vụ"}),
            codec.Row("r2", {"agency_id": "000.00.05.H37", "name": "Sở Tư pháp",
                             "parent_id": "000.00.00.H37"})]
    report = reg.import_rows(rows, actor="seed", reason="seed", only_new=True)
    assert (report.added, report.skipped) == (1, 1)
    assert reg.resolve("H37.02").state is AgencyState.SUSPENDED  # not undone
