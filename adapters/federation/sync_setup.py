"""The national registry sync wired to a node (issue 10, item 1): the peer's units read
over its protocol (spec vdxp.md), the sync's memory in the node's database, its journal
entries in the node's journal. `registry_sync_for(node)` is what the CLI, the admin API
and the scheduled job call; the rules themselves are in axis/federation/registry_sync.py.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from datetime import datetime

from adapters.federation.link import VdxpLink
from adapters.node import Node
from adapters.store.sync_repo import SqlSyncStore
from axis import errors
from axis.errors import AxisError
from axis.federation.model import Peer
from axis.federation.registry_sync import DIGEST, RegistrySync, Unit

# The peer may not offer the versioned registry (an older national axis, another Axis
# node's listener): the lists are read instead, newest form first.
OPERATIONS = ("getSynchronizeUnit", "getAgenciesListQD20", "getAgenciesList")
# A refusal or an unexpected answer means "not offered here"; a peer that cannot be
# reached at all is not asked twice more.
_FALL_BACK_ON = frozenset({errors.PEER_REFUSED.id, errors.PEER_BAD_ANSWER.id})


class VdxpUnitSource:
    """`UnitSource` and `AgencyRegistrar` over `VdxpClient`."""

    def __init__(self, link: VdxpLink) -> None:
        self._link = link

    def units(self, peer: Peer) -> tuple[str, builtins.list[Unit]]:
        client = self._link.client(peer)
        failure: AxisError | None = None
        for operation in OPERATIONS:
            try:
                if operation == "getSynchronizeUnit":
                    rows = client.synchronize_units()
                else:
                    rows = client.agencies(qd20=operation == "getAgenciesListQD20")
            except AxisError as exc:
                if exc.code.id not in _FALL_BACK_ON:
                    raise
                failure = exc
                continue
            return operation, units_of(rows, versioned=operation == "getSynchronizeUnit")
        assert failure is not None
        raise failure

    def register(self, peer: Peer, fields: dict[str, str]) -> None:
        self._link.client(peer).register_agency(fields)

    def unregister(self, peer: Peer, code: str) -> None:
        self._link.client(peer).delete_agency(code)


def units_of(rows: builtins.list[dict[str, object]], *, versioned: bool) -> builtins.list[Unit]:
    """The rows of any of the three operations as `Unit`s. A list without versions gets a
    digest of the fields it carries as its version, so an unchanged unit is still skipped."""
    code_of = {str(r.get("id", "")): _code(r) for r in rows if r.get("id") not in (None, "")}
    out = []
    for r in rows:
        code = _code(r)
        if not code:
            continue
        pid = str(r.get("pid", "") or "")
        parent = code_of.get(pid, "") if pid not in ("", "0") else ""
        name = str(r.get("name") or "").strip()
        mail = str(r.get("mail") or "").strip()
        version = str(r.get("version", "")).strip() if versioned else ""
        if not version:
            version = DIGEST + hashlib.sha256(json.dumps(
                [code, name, parent, mail], ensure_ascii=False).encode()).hexdigest()[:16]
        out.append(Unit(code=code, name=name, center=str(r.get("centerCode") or "").strip(),
                        version=version, deleted=_flag(r.get("deleted")),
                        parent_code=parent if parent != code else "", mail=mail))
    return out


def _code(row: dict[str, object]) -> str:
    # QD20 lists carry the QCVN 102 form as code102; `code` may be the Decision 20 form.
    return str(row.get("code102") or row.get("code") or "").strip()


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def registry_sync_for(node: Node) -> RegistrySync:
    source = VdxpUnitSource(node.peer_link)

    def journal(at: datetime, kind: str, ref: str, payload: dict[str, object]) -> None:
        with node.store.transaction() as tx:
            tx.append_journal(at, kind, ref, payload)

    return RegistrySync(registry=node.registry, source=source, registrar=source,
                        store=SqlSyncStore(node.engine), peers=node.peers.get,
                        journal=journal, clock=node.exchange.clock,
                        own_centers=(node.settings.province,))
