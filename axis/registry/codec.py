"""Agencies as plain data: history snapshots, JSON and CSV files.

The file formats carry exactly the fields of `Agency`, so export → import is lossless.
Credentials never leave the node this way (only their hashes are stored, and even those
are not exported) and neither does history: it belongs to the node that kept it.

An import row is a *patch*: a field it does not mention keeps its registered value (or
the default, for a new agency). That is what lets the seed be re-imported over a live
registry without wiping certificates bound since.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from axis import errors
from axis.registry.model import Agency, AgencyKind, AgencyState, DeliveryMode

FORMAT = "axis-registry/1"
FIELDS: tuple[str, ...] = (
    "agency_id", "short_id", "name", "parent_id", "level", "kind", "state",
    "delivery_mode", "endpoint", "contact_email", "contact_phone", "certificates", "note",
    "served_by",
)
_TEXT = {"agency_id", "short_id", "name", "endpoint", "contact_email", "contact_phone", "note",
         "served_by"}
_ENUMS: dict[str, type[AgencyKind] | type[AgencyState] | type[DeliveryMode]] = {
    "kind": AgencyKind, "state": AgencyState, "delivery_mode": DeliveryMode,
}
CERT_SEPARATOR = ";"


@dataclass(frozen=True, slots=True)
class Row:
    """One entry as read from a file: where it was, and the fields it gives."""

    where: str  # "row 3", "agencies[2]": for the error report
    fields: Mapping[str, object]


def agency_to_dict(agency: Agency) -> dict[str, object]:
    """JSON-ready, in `FIELDS` order; certificates sorted so equal entries dump equal."""
    return {
        "agency_id": agency.agency_id,
        "short_id": agency.short_id,
        "name": agency.name,
        "parent_id": agency.parent_id,
        "level": agency.level,
        "kind": agency.kind.value,
        "state": agency.state.value,
        "delivery_mode": agency.delivery_mode.value,
        "endpoint": agency.endpoint,
        "contact_email": agency.contact_email,
        "contact_phone": agency.contact_phone,
        "certificates": sorted(agency.certificates),
        "note": agency.note,
        "served_by": agency.served_by,
    }


def parse_fields(raw: Mapping[str, object]) -> dict[str, Any]:
    """Typed field values from a row; raises ValueError naming the bad field."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in FIELDS:
            raise ValueError(f"unknown field {key!r}")
        if key in _TEXT:
            if not isinstance(value, str):
                raise ValueError(f"{key}: text expected")
            out[key] = value
        elif key == "parent_id":
            if value is not None and not isinstance(value, str):
                raise ValueError("parent_id: text or null expected")
            out[key] = value or None
        elif key == "level":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError("level: an integer expected")
            try:
                out[key] = int(value)
            except ValueError:
                raise ValueError(f"level: {value!r} is not an integer") from None
        elif key == "certificates":
            items = value.split(CERT_SEPARATOR) if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
                raise ValueError("certificates: a list of fingerprints expected")
            out[key] = frozenset(v for v in items if v.strip())
        else:
            enum = _ENUMS[key]
            try:
                out[key] = enum(value)
            except ValueError:
                allowed = ", ".join(m.value for m in enum)
                raise ValueError(f"{key}: {value!r} is not one of {allowed}") from None
    return out


def merge(base: Agency | None, fields: Mapping[str, Any]) -> Agency:
    """The entry a row describes: `base` (the registered entry) with the row's fields
    over it, or a new entry from the row alone. Raises ValueError."""
    if base is None:
        missing = [k for k in ("agency_id", "name") if not fields.get(k)]
        if missing:
            raise ValueError(f"a new agency needs {' and '.join(missing)}")
        return Agency(**{"short_id": "", **fields})
    if "short_id" in fields and not fields["short_id"]:
        fields = {**fields, "short_id": ""}  # blank: derive again from agency_id
    return dataclasses.replace(base, **fields)


# --- JSON -------------------------------------------------------------------------------
def dump_json(agencies: Sequence[Agency], *, notice: str = "") -> str:
    doc: dict[str, object] = {"format": FORMAT}
    if notice:
        doc["notice"] = notice
    doc["agencies"] = [agency_to_dict(a) for a in agencies]
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def load_json(text: str) -> list[Row]:
    """`{"format": …, "agencies": [...]}` or a bare list of entries."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.REGISTRY_IMPORT_INVALID.error(f"not JSON: {exc}") from exc
    if isinstance(doc, dict):
        fmt = doc.get("format", FORMAT)
        if fmt != FORMAT:
            raise errors.REGISTRY_IMPORT_INVALID.error(f"format {fmt!r}; expected {FORMAT}")
        doc = doc.get("agencies")
    if not isinstance(doc, list):
        raise errors.REGISTRY_IMPORT_INVALID.error("expected a list of agencies")
    rows: list[Row] = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict):
            raise errors.REGISTRY_IMPORT_INVALID.error(f"agencies[{i}]: an object expected")
        rows.append(Row(f"agencies[{i}]", item))
    return rows


# --- CSV --------------------------------------------------------------------------------
def dump_csv(agencies: Sequence[Agency]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FIELDS)
    for a in agencies:
        d = agency_to_dict(a)
        d["parent_id"] = a.parent_id or ""
        d["certificates"] = CERT_SEPARATOR.join(sorted(a.certificates))
        writer.writerow([d[k] for k in FIELDS])
    return buf.getvalue()


def load_csv(text: str) -> list[Row]:
    """A header row naming `FIELDS` (any subset, any order), then one agency a row. A
    column left out is a field not given; an empty cell is an empty value."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))  # BOM: Excel's export
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise errors.REGISTRY_IMPORT_INVALID.error("empty CSV file") from None
    except csv.Error as exc:
        raise errors.REGISTRY_IMPORT_INVALID.error(f"CSV: {exc}") from exc
    unknown = [h for h in header if h not in FIELDS]
    if unknown or len(set(header)) != len(header):
        raise errors.REGISTRY_IMPORT_INVALID.error(
            f"CSV header: unknown or repeated columns {unknown or header}"
        )
    rows: list[Row] = []
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            where = f"line {reader.line_num}"
            if len(line) != len(header):
                raise errors.REGISTRY_IMPORT_INVALID.error(
                    f"{where}: {len(line)} cells for {len(header)} columns"
                )
            rows.append(Row(where, dict(zip(header, line, strict=True))))
    except csv.Error as exc:
        raise errors.REGISTRY_IMPORT_INVALID.error(f"CSV line {reader.line_num}: {exc}") from exc
    return rows
