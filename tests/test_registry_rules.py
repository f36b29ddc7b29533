"""Pure parts of the registry: entry rules, transitions, file formats, secrets, bindings."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from axis import errors
from axis.errors import SenderFault
from axis.registry import codec, consistency, credentials, rules
from axis.registry.bindings import RegistryBindings
from axis.registry.model import Agency, AgencyKind, AgencyState
from axis.trust.verdict import fingerprint


@pytest.mark.parametrize(("agency_id", "short_id", "level"), [
    ("000.00.00.H37", "H37", 1),
    ("000.00.12.H37", "H37.12", 2),
    ("000.03.31.H37", "H37.31.03", 3),
    ("004.03.31.H37", "H37.31.03.004", 4),
])
def test_normalise_derives_short_id_and_level(agency_id: str, short_id: str, level: int) -> None:
    entry = rules.check_entry(Agency(agency_id, "", "x", level=4))
    assert (entry.short_id, entry.level) == (short_id, level)


def test_normalise_trims_and_composes() -> None:
    raw = Agency(" 000.00.02.H37 ", "", unicodedata.normalize("NFD", " Sở Nội vụ "),
                 parent_id=" ", certificates=frozenset({"AA:" * 31 + "AA"}))
    entry = rules.normalise(raw)
    assert entry.agency_id == "000.00.02.H37" and entry.name == "Sở Nội vụ"
    assert entry.parent_id is None and entry.certificates == {"aa" * 32}


def test_external_identifiers_are_bounded_not_shaped() -> None:
    for messy in ("28.22.H17", "001.00.20.TT2", "01.02.G22", "vxp.saas.02"):
        entry = rules.check_entry(Agency(messy, "", "x", kind=AgencyKind.EXTERNAL, level=2))
        assert entry.short_id == messy and entry.level == 2
    assert rules.check_entry(
        Agency("000.00.15.H51", "", "x", kind=AgencyKind.EXTERNAL)).short_id == "H51.15"
    for bad in ("", "a b", "x" * 65, "tab\there"):
        with pytest.raises(SenderFault, match=r"registry\.invalid_identifier"):
            rules.check_entry(Agency(bad, "", "x", kind=AgencyKind.EXTERNAL))


def test_province_is_a_parameter() -> None:
    assert rules.check_entry(Agency("000.00.01.H14", "", "x"), province="H14").short_id == "H14.01"
    with pytest.raises(SenderFault, match=r"registry\.invalid_identifier"):
        rules.check_entry(Agency("000.00.01.H14", "", "x"))


def test_transitions() -> None:
    A, S, R = AgencyState.ACTIVE, AgencyState.SUSPENDED, AgencyState.RETIRED
    assert rules.transition(A, S) == "suspend"
    assert rules.transition(S, A) == "reactivate"
    assert rules.transition(A, R) == rules.transition(S, R) == "retire"
    for before, after in ((R, A), (R, S), (A, A), (S, S), (R, R)):
        with pytest.raises(SenderFault, match=r"registry\.invalid_transition"):
            rules.transition(before, after)


def test_parents_first_orders_any_input() -> None:
    a = Agency("000.00.00.H37", "H37", "a")
    b = Agency("000.00.31.H37", "H37.31", "b", parent_id=a.agency_id)
    c = Agency("000.01.31.H37", "H37.31.01", "c", parent_id=b.agency_id)
    assert consistency.parents_first([c, b, a]) == [a, b, c]
    loop = Agency("x", "x", "x", parent_id="y"), Agency("y", "y", "y", parent_id="x")
    assert len(consistency.parents_first(loop)) == 2  # terminates; refused elsewhere


def test_parse_fields_reports_the_bad_field() -> None:
    assert codec.parse_fields({"level": "3", "parent_id": "", "certificates": "a;;b"}) == {
        "level": 3, "parent_id": None, "certificates": frozenset({"a", "b"})}
    for row, message in (
        ({"colour": "red"}, "unknown field"),
        ({"level": "two"}, "level"),
        ({"level": True}, "level"),
        ({"state": "asleep"}, "state"),
        ({"name": 5}, "name"),
        ({"certificates": [1]}, "certificates"),
    ):
        with pytest.raises(ValueError, match=message):
            codec.parse_fields(row)
    with pytest.raises(ValueError, match="needs agency_id and name"):
        codec.merge(None, {})


@pytest.mark.parametrize("text", [
    "{not json", '{"format": "other/9", "agencies": []}', '{"agencies": 3}', "[1]",
])
def test_bad_json_files(text: str) -> None:
    with pytest.raises(SenderFault, match=r"registry\.import_invalid"):
        codec.load_json(text)


@pytest.mark.parametrize("text", [
    "", "agency_id,colour\nx,red\n", "agency_id,name\nx\n", "agency_id,agency_id\nx,y\n",
])
def test_bad_csv_files(text: str) -> None:
    with pytest.raises(SenderFault, match=r"registry\.import_invalid"):
        codec.load_csv(text)


def test_csv_tolerates_bom_blank_lines_and_column_subsets() -> None:
    rows = codec.load_csv("\ufeffname,agency_id\nSở Y tế,000.00.16.H37\n\n")
    assert [(r.where, dict(r.fields)) for r in rows] == [
        ("line 2", {"name": "Sở Y tế", "agency_id": "000.00.16.H37"})]


def test_secrets_are_hashed_and_compared_in_constant_time() -> None:
    secret = credentials.new_secret()
    stored = credentials.hash_secret(secret)
    assert stored.startswith("sha256:") and secret not in stored
    assert credentials.secret_matches(secret, stored)
    assert not credentials.secret_matches(secret + "x", stored)
    assert not credentials.secret_matches(secret, "md5:" + stored[7:])
    assert credentials.SYSTEM_ID.fullmatch(credentials.new_system_id("H37.02"))
    with pytest.raises(SenderFault, match=r"registry\.invalid_agency"):
        credentials.check_system_id("có dấu")


class _OneStore:
    """Just enough of the store port for the bindings."""

    def __init__(self, agency: Agency | None) -> None:
        self.agency = agency

    def agency_for_certificate(self, fp: str) -> Agency | None:
        return self.agency if self.agency and fp in self.agency.certificates else None


def _cert() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sở Nội vụ")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))


def test_registry_bindings_name_both_forms_unless_retired() -> None:
    cert = _cert()
    snv = Agency("000.00.02.H37", "H37.02", "Sở Nội vụ",
                 certificates=frozenset({fingerprint(cert)}))
    assert RegistryBindings(_OneStore(snv)).agencies_for(cert) == {"000.00.02.H37", "H37.02"}
    retired = Agency(snv.agency_id, snv.short_id, snv.name, state=AgencyState.RETIRED,
                     certificates=snv.certificates)
    assert RegistryBindings(_OneStore(retired)).agencies_for(cert) == frozenset()
    assert RegistryBindings(_OneStore(None)).agencies_for(cert) == frozenset()
    assert errors.REGISTRY_UNKNOWN_AGENCY.http_status == 404
