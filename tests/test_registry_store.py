"""The `RegistryStore` contract: one body, run on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_support import BACKENDS, migrated_engine

from adapters.store.db import make_engine
from adapters.store.registry_repo import SqlRegistryStore
from axis import errors
from axis.clock import VN_TZ
from axis.errors import NodeFault, SenderFault
from axis.registry.model import (
    Agency,
    AgencyChange,
    AgencyKind,
    AgencyState,
    Credential,
    DeliveryMode,
)

AT = datetime(2026, 11, 24, 8, 30, 15, 123456, tzinfo=VN_TZ)
FP1, FP2 = "a" * 64, "b" * 64
PC = Agency("000.00.00.H37", "H37", "Ủy ban nhân dân tỉnh Lạng Sơn")
SNV = Agency("000.00.02.H37", "H37.02", "Sở Nội vụ", parent_id=PC.agency_id, level=2,
             certificates=frozenset({FP1}), note="mã giả lập")
G22 = Agency("000.00.00.G22", "G22", "Văn phòng Chính phủ", kind=AgencyKind.EXTERNAL)


def change(a: Agency, action: str = "add", at: datetime = AT) -> AgencyChange:
    return AgencyChange(a.agency_id, at, "tester", "lý do thử", action, None,
                        {"name": a.name, "certificates": sorted(a.certificates)})


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRegistryStore]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield SqlRegistryStore(engine)


def seed(store: SqlRegistryStore) -> None:
    store.save_many([(PC, change(PC)), (SNV, change(SNV)), (G22, change(G22))])


def test_get_and_find_by_either_form(store: SqlRegistryStore) -> None:
    seed(store)
    assert store.get("000.00.02.H37") == SNV
    assert store.get("H37.02") is None  # get is by the primary key only
    assert store.find("H37.02") == SNV
    assert store.find("000.00.02.H37") == SNV
    assert store.find("G22") == G22
    assert store.find("000.00.99.H37") is None


def test_list_filters_and_code_point_order(store: SqlRegistryStore) -> None:
    seed(store)
    assert [a.agency_id for a in store.list()] == ["000.00.00.G22", "000.00.00.H37",
                                                   "000.00.02.H37"]
    assert store.list(kind=AgencyKind.EXTERNAL) == [G22]
    assert store.list(parent_id=PC.agency_id) == [SNV]
    assert store.list(state=AgencyState.SUSPENDED) == []


def test_save_replaces_the_entry_and_appends_history(store: SqlRegistryStore) -> None:
    seed(store)
    moved = dataclasses.replace(SNV, state=AgencyState.SUSPENDED, name="Sở Nội vụ (mới)",
                                delivery_mode=DeliveryMode.PUSH, endpoint="https://x.example/")
    store.save(moved, change(moved, "update", AT + timedelta(minutes=1)))
    assert store.get(SNV.agency_id) == moved
    history = store.history(SNV.agency_id)
    assert [h.action for h in history] == ["add", "update"]
    assert history[0].after == {"name": "Sở Nội vụ", "certificates": [FP1]}
    assert history[0].before is None


def test_instants_come_back_aware_in_vietnam_time(store: SqlRegistryStore) -> None:
    utc = datetime(2026, 1, 1, 1, 0, 0, 5, tzinfo=UTC)  # 08:00:00.000005 in Vietnam
    store.save(PC, change(PC, at=utc))
    (h,) = store.history(PC.agency_id)
    assert h.at == utc
    assert h.at.utcoffset() == timedelta(hours=7)
    assert h.at.isoformat() == "2026-01-01T08:00:00.000005+07:00"


def test_certificates_bind_move_and_unbind(store: SqlRegistryStore) -> None:
    seed(store)
    assert store.agency_for_certificate(FP1) == SNV
    assert store.agency_for_certificate(FP2) is None
    # One import may move a certificate between agencies: written in one transaction.
    pc2 = dataclasses.replace(PC, certificates=frozenset({FP1, FP2}))
    snv2 = dataclasses.replace(SNV, certificates=frozenset())
    store.save_many([(pc2, change(pc2, "update")), (snv2, change(snv2, "update"))])
    assert store.agency_for_certificate(FP1) == pc2
    assert store.get(SNV.agency_id) == snv2


def test_save_many_is_all_or_nothing(store: SqlRegistryStore) -> None:
    seed(store)
    new = Agency("000.00.03.H37", "H37.03", "Sở Tài chính", parent_id=PC.agency_id, level=2)
    clash = Agency("000.00.04.H37", "H37.02", "trùng mã ngắn", level=2)  # short_id taken
    with pytest.raises(SenderFault) as caught:
        store.save_many([(new, change(new)), (clash, change(clash))])
    assert caught.value.code is errors.REGISTRY_CONFLICT
    assert store.get(new.agency_id) is None
    assert store.history(new.agency_id) == []


def test_a_certificate_speaks_for_one_agency(store: SqlRegistryStore) -> None:
    seed(store)
    pc2 = dataclasses.replace(PC, certificates=frozenset({FP1}))  # FP1 is the Sở's
    with pytest.raises(SenderFault) as caught:
        store.save(pc2, change(pc2, "update"))
    assert caught.value.code is errors.REGISTRY_CONFLICT
    assert store.get(PC.agency_id) == PC
    assert len(store.history(PC.agency_id)) == 1


def test_parent_must_exist(store: SqlRegistryStore) -> None:
    orphan = Agency("000.00.05.H37", "H37.05", "Sở Tư pháp", parent_id="000.00.00.H37")
    with pytest.raises(SenderFault):
        store.save(orphan, change(orphan))


def test_credentials_only_hashes_and_revocation(store: SqlRegistryStore) -> None:
    seed(store)
    cred = Credential("H37.02-app", SNV.agency_id, "sha256:" + "c" * 64, AT)
    store.add_credential(cred, change(SNV, "issue-credential"))
    assert store.credential("H37.02-app") == cred
    assert store.credentials(SNV.agency_id) == [cred]
    later = AT + timedelta(days=1)
    store.revoke_credential("H37.02-app", later, change(SNV, "revoke-credential", later))
    assert store.credential("H37.02-app") == dataclasses.replace(cred, revoked_at=later)
    with pytest.raises(SenderFault) as caught:  # twice: refused, and no history line
        store.revoke_credential("H37.02-app", later, change(SNV, "revoke-credential", later))
    assert caught.value.code is errors.REGISTRY_CONFLICT
    assert [h.action for h in store.history(SNV.agency_id)] == [
        "add", "issue-credential", "revoke-credential"]
    with pytest.raises(SenderFault):  # the system id is unique
        store.add_credential(cred, change(SNV, "issue-credential"))


def test_an_unmigrated_database_is_the_nodes_fault(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        with pytest.raises(NodeFault) as caught:
            SqlRegistryStore(engine).get("000.00.00.H37")
        assert caught.value.code is errors.STORE_UNAVAILABLE
    finally:
        engine.dispose()

