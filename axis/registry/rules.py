"""The registry's rules on one entry: identifiers, fields, state transitions.

Pure functions over `Agency` values. What needs the rest of the registry (uniqueness
across both identifier forms, parents, certificates bound elsewhere) is in
`axis.registry.consistency`.

Identifiers (Art. 8.2: every agency has an identifier set by the provincial committee):
inside the province the QCVN 102 form is required, ending in the province's level-1
group (`000.00.01.H37`); agencies elsewhere are written as the national axis and other
provinces send them, and real data is messy (`28.22.H17`, `vxp.saas.02`, spec §7), so
for them the registry only asks for a non-empty identifier of at most 64 characters
without spaces.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from axis import errors
from axis.edxml.identifiers import DECISION20_ID, QCVN_ID, qcvn_to_decision20
from axis.registry.model import Agency, AgencyKind, AgencyState, DeliveryMode

PROVINCE = "H37"  # Lạng Sơn's level-1 group (Decision 20/2020: H01 … H63)
MAX_ID = 64
MAX_NAME = 500
MAX_TEXT = 2000
MIN_LEVEL, MAX_LEVEL = 1, 4  # QCVN 102:2016 has four levels
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_NO_SPACE = re.compile(r"[^\s\x00-\x1f\x7f]+")
_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")

# (from, to) → the history action. Suspension is the reversible cut-off of Art. 22 (a
# compromised credential is cut off at once); retirement is final because old documents
# still name the agency and must keep resolving to the same entry.
TRANSITIONS: dict[tuple[AgencyState, AgencyState], str] = {
    (AgencyState.ACTIVE, AgencyState.SUSPENDED): "suspend",
    (AgencyState.SUSPENDED, AgencyState.ACTIVE): "reactivate",
    (AgencyState.ACTIVE, AgencyState.RETIRED): "retire",
    (AgencyState.SUSPENDED, AgencyState.RETIRED): "retire",
}


def _nfc(text: str) -> str:
    # Vietnamese in precomposed form (TCVN 6909:2001, Art. 4): a decomposed "Sở" must
    # compare equal to the precomposed one, in searches and in change detection.
    return unicodedata.normalize("NFC", text.strip())


def qcvn_level(agency_id: str) -> int | None:
    """The level a QCVN 102 identifier names: the deepest group in use (1 … 4)."""
    if not QCVN_ID.fullmatch(agency_id):
        return None
    l4, l3, l2, _l1 = agency_id.split(".")
    level = 1
    for depth, group in ((2, l2), (3, l3), (4, l4)):
        if int(group) != 0:
            level = depth
    return level


def derive_short_id(agency_id: str) -> str:
    """The Decision 20 form of a QCVN identifier; an identifier of another shape stands
    for itself, so that either lookup finds the agency."""
    return qcvn_to_decision20(agency_id) or agency_id


def normalise_fingerprint(value: str) -> str:
    """`AB:CD:…` or `abcd…` → lower-case hex; raises `registry.invalid_certificate`."""
    fp = value.strip().lower().replace(":", "").replace(" ", "")
    if not _FINGERPRINT.fullmatch(fp):
        raise errors.REGISTRY_INVALID_CERTIFICATE.error(f"{value!r}: not a SHA-256 hex digest")
    return fp


def normalise(agency: Agency) -> Agency:
    """Trimmed, NFC, derived fields filled in: the form in which entries are compared."""
    agency_id = agency.agency_id.strip()
    short_id = agency.short_id.strip() or derive_short_id(agency_id)
    derived_level = qcvn_level(agency_id)
    return dataclasses.replace(
        agency,
        agency_id=agency_id,
        short_id=short_id,
        name=_nfc(agency.name),
        parent_id=(agency.parent_id or "").strip() or None,
        # The QCVN identifier encodes the level; a stored level that disagrees with it
        # could only be a typo.
        level=derived_level if derived_level is not None else agency.level,
        endpoint=agency.endpoint.strip(),
        contact_email=agency.contact_email.strip(),
        contact_phone=agency.contact_phone.strip(),
        note=_nfc(agency.note),
        served_by=agency.served_by.strip(),
        certificates=frozenset(normalise_fingerprint(fp) for fp in agency.certificates),
    )


def check_identifiers(agency: Agency, *, province: str = PROVINCE) -> None:
    """Raises `registry.invalid_identifier` (expects a normalised entry)."""
    bad = errors.REGISTRY_INVALID_IDENTIFIER
    for label, value in (("agency_id", agency.agency_id), ("short_id", agency.short_id)):
        if not value or len(value) > MAX_ID or not _NO_SPACE.fullmatch(value):
            raise bad.error(f"{label} {value!r}: 1 to {MAX_ID} characters, no spaces")
    if agency.kind is AgencyKind.EXTERNAL:
        return
    if not QCVN_ID.fullmatch(agency.agency_id) or not agency.agency_id.endswith("." + province):
        raise bad.error(
            f"{agency.agency_id!r}: an agency of the province needs the QCVN 102 form "
            f"NNN.NN.NN.{province}"
        )
    s = agency.short_id
    if not DECISION20_ID.fullmatch(s) or s.split(".")[0] != province:
        raise bad.error(f"short_id {s!r}: the Decision 20 form {province}[.NN…] is required")


def check_fields(agency: Agency) -> None:
    """Raises `registry.invalid_agency` (expects a normalised entry)."""
    bad = errors.REGISTRY_INVALID_AGENCY
    who = agency.agency_id
    if not agency.name or len(agency.name) > MAX_NAME:
        raise bad.error(f"{who}: the name is required (at most {MAX_NAME} characters)")
    if not MIN_LEVEL <= agency.level <= MAX_LEVEL:
        raise bad.error(f"{who}: level {agency.level} is not in {MIN_LEVEL}…{MAX_LEVEL}")
    # Issue 10: only an agency outside the province is served by another node.
    if agency.served_by and agency.kind is AgencyKind.INTERNAL:
        raise bad.error(f"{who}: an internal agency is served by this node (served_by must "
                        "be empty)")
    if len(agency.served_by) > MAX_ID or not _NO_SPACE.fullmatch(agency.served_by or "x"):
        raise bad.error(f"{who}: served_by is a peer name, 1 to {MAX_ID} characters")
    if agency.delivery_mode is DeliveryMode.PUSH and not _URL.fullmatch(agency.endpoint):
        raise bad.error(f"{who}: push delivery needs an http(s) endpoint URL")
    if len(agency.endpoint) > MAX_NAME:
        raise bad.error(f"{who}: the endpoint is longer than {MAX_NAME} characters")
    if agency.contact_email and (
        len(agency.contact_email) > 254 or not _EMAIL.fullmatch(agency.contact_email)
    ):
        raise bad.error(f"{who}: {agency.contact_email!r} is not an e-mail address")
    if len(agency.contact_phone) > 64 or len(agency.note) > MAX_TEXT:
        raise bad.error(f"{who}: contact phone or note too long")
    if agency.parent_id == agency.agency_id:
        raise errors.REGISTRY_INVALID_PARENT.error(f"{who} cannot be its own parent")


def check_entry(agency: Agency, *, province: str = PROVINCE) -> Agency:
    """Normalise and check one entry on its own; returns the normalised entry."""
    entry = normalise(agency)
    check_identifiers(entry, province=province)
    check_fields(entry)
    return entry


def transition(before: AgencyState, after: AgencyState) -> str:
    """The history action for a state change; raises `registry.invalid_transition`."""
    action = TRANSITIONS.get((before, after))
    if action is None:
        final = " (retired is final)" if before is AgencyState.RETIRED else ""
        raise errors.REGISTRY_INVALID_TRANSITION.error(
            f"{before.value} → {after.value} is not allowed{final}"
        )
    return action
