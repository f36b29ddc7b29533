"""The sample Lạng Sơn registry in axis/_data/config/registry/: complete, well-formed, honest about
which identifiers are synthetic, and loadable as it stands."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from store_support import migrated_engine

from adapters.store.registry_repo import SqlRegistryStore
from axis.clock import VN_TZ, FixedClock
from axis.edxml.identifiers import QCVN_ID
from axis.packaged import SEED_REGISTRY_FILE
from axis.registry import codec
from axis.registry.model import AgencyKind, DeliveryMode
from axis.registry.service import Registry

SEED = SEED_REGISTRY_FILE
PC = "000.00.00.H37"
DISTRICTS = ("thành phố Lạng Sơn", "Tràng Định", "Văn Lãng", "Văn Quan", "Bình Gia", "Bắc Sơn",
             "Hữu Lũng", "Chi Lăng", "Cao Lộc", "Lộc Bình", "Đình Lập")


@pytest.fixture(scope="module")
def doc() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(SEED.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[Registry]:
    with migrated_engine("sqlite", tmp_path) as engine:
        reg = Registry(SqlRegistryStore(engine), FixedClock(datetime(2026, 1, 2, tzinfo=VN_TZ)))
        report = reg.import_rows(codec.load_json(SEED.read_text(encoding="utf-8")),
                                 actor="seed", reason="test", only_new=True)
        assert report.added == len(reg.export()) and report.skipped == 0
        yield reg


def test_the_file_says_its_identifiers_are_synthetic(doc: dict[str, object]) -> None:
    notice = str(doc["notice"])
    assert "SYNTHETIC" in notice and "GIẢ LẬP" in notice
    agencies = doc["agencies"]
    assert isinstance(agencies, list)
    for a in agencies:
        if a["kind"] == "internal" and a["agency_id"] != PC:
            assert "synthetic" in a["note"], a["agency_id"]
        if a["kind"] == "external" and a["agency_id"] != "000.00.00.G22":
            assert "unverified" in a["note"] or "public" in a["note"], a["agency_id"]


def test_text_is_nfc_and_identifiers_are_well_shaped(doc: dict[str, object]) -> None:
    raw = SEED.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", raw)
    agencies = doc["agencies"]
    assert isinstance(agencies, list)
    ids = [a["agency_id"] for a in agencies]
    assert len(ids) == len(set(ids))
    assert all(QCVN_ID.fullmatch(i) for i in ids)


def test_the_province_is_all_there(registry: Registry) -> None:
    pc = registry.resolve("H37")
    assert pc.agency_id == PC and pc.parent_id is None
    children = registry.children_of(PC)
    office = [a for a in children if a.name.startswith("Văn phòng Ủy ban nhân dân tỉnh")]
    departments = [a for a in children if a.name.startswith(("Sở ", "Ban ", "Thanh tra"))]
    districts = [a for a in children if a.name.startswith("Ủy ban nhân dân")]
    assert len(office) == 1
    assert len(departments) >= 18
    assert sorted(d.name for d in districts) == sorted(
        f"Ủy ban nhân dân {n if n.startswith('thành phố') else 'huyện ' + n}" for n in DISTRICTS)
    with_communes = [d for d in districts if registry.children_of(d.agency_id)]
    assert 2 <= len(with_communes) <= 3
    for d in with_communes:
        for commune in registry.children_of(d.agency_id):
            assert commune.level == 3 and commune.agency_id.endswith(d.agency_id[6:])
    internal = registry.list(kind=AgencyKind.INTERNAL)
    assert len(internal) >= 1 + 1 + 18 + 11
    modes = {a.delivery_mode for a in internal}
    assert modes == {DeliveryMode.PULL, DeliveryMode.PUSH, DeliveryMode.AMQP}


def test_externals_are_reached_through_the_national_axis(registry: Registry) -> None:
    externals = {a.agency_id: a for a in registry.list(kind=AgencyKind.EXTERNAL)}
    assert externals["000.00.00.G22"].name == "Văn phòng Chính phủ"
    assert registry.resolve("G22") == externals["000.00.00.G22"]
    for public in ("000.00.00.H41", "000.00.00.H14"):  # seen in the public fixtures
        assert public in externals
    assert sum(1 for i in externals if ".G" in i) >= 3


def test_the_seed_round_trips(registry: Registry) -> None:
    exported = registry.export()
    report = registry.import_rows(codec.load_json(codec.dump_json(exported)),
                                  actor="t", reason="t")
    assert report.unchanged == len(exported)
    report = registry.import_rows(codec.load_csv(codec.dump_csv(exported)), actor="t", reason="t")
    assert report.unchanged == len(exported)
