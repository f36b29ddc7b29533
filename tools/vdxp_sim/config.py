"""The simulator's configuration: member systems, seed units, and a few switches.

JSON shape (every key but ``systems`` optional)::

    {"systems": [{"system_id": "axis-h37", "secret": "s3cret", "center": "H37"}],
     "units": [{"id": 1, "code": "000.00.00.H37", "pid": 0, "name": "UBND tỉnh Lạng Sơn",
                "mail": "...", "centerCode": "H37", "version": 1, "deleted": false,
                "modifyDate": "...", "isAgency": true, "oldCode": ""}],
     "timestamp_window_hours": 48,
     "dedupe_sends": true,
     "strict_sender": true,
     "max_package_bytes": 52428800}

Seed units are written to the store only when their code is not there yet: after a
restart the store (registrations, deletions) wins over the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SystemConfig:
    system_id: str
    secret: str
    center: str


@dataclass(frozen=True)
class UnitConfig:
    id: int
    code: str
    pid: int = 0
    name: str = ""
    mail: str = ""
    center_code: str = ""
    version: int = 1
    deleted: bool = False
    modify_date: str = ""
    is_agency: bool = True
    old_code: str = ""


@dataclass(frozen=True)
class SimConfig:
    systems: tuple[SystemConfig, ...]
    units: tuple[UnitConfig, ...] = ()
    timestamp_window_hours: float = 48.0
    # The same bytes sent again by the same system answer the first DocId and list nothing
    # new: a client that retries a send whose answer it lost must not deliver twice.
    dedupe_sends: bool = True
    # The `from` header must be a unit served by the caller's center and equal the
    # package's From/OrganId ("sender not registered" on real axes).
    strict_sender: bool = True
    max_package_bytes: int = 50 * 1024 * 1024
    extra: dict[str, Any] = field(default_factory=dict)

    def system(self, system_id: str) -> SystemConfig | None:
        for s in self.systems:
            if s.system_id == system_id:
                return s
        return None


def _unit(raw: dict[str, Any]) -> UnitConfig:
    return UnitConfig(
        id=int(raw.get("id", 0)),
        code=str(raw["code"]),
        pid=int(raw.get("pid", 0)),
        name=str(raw.get("name", "")),
        mail=str(raw.get("mail", "")),
        center_code=str(raw.get("centerCode", "")),
        version=int(raw.get("version", 1)),
        deleted=bool(raw.get("deleted", False)),
        modify_date=str(raw.get("modifyDate", "")),
        is_agency=bool(raw.get("isAgency", True)),
        old_code=str(raw.get("oldCode", "")),
    )


def config_from_dict(raw: dict[str, Any]) -> SimConfig:
    systems = tuple(
        SystemConfig(system_id=str(s["system_id"]), secret=str(s["secret"]),
                     center=str(s["center"]))
        for s in raw.get("systems", [])
    )
    if not systems:
        raise ValueError("config: at least one system is required")
    return SimConfig(
        systems=systems,
        units=tuple(_unit(u) for u in raw.get("units", [])),
        timestamp_window_hours=float(raw.get("timestamp_window_hours", 48)),
        dedupe_sends=bool(raw.get("dedupe_sends", True)),
        strict_sender=bool(raw.get("strict_sender", True)),
        max_package_bytes=int(raw.get("max_package_bytes", 50 * 1024 * 1024)),
    )


def load_config(path: Path) -> SimConfig:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"config {path}: a JSON object is required")
    return config_from_dict(raw)
