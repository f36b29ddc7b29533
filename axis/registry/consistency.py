"""Rules across entries: checked on the registry as it would be after a change.

The registry is small (hundreds to a few thousand entries), so a change is checked
against a full in-memory picture of the result rather than by a query per rule: one code
path serves a single `add` and a 1,000-row import alike, and a row may name a parent
that arrives in the same import.

Unique keys (agency id, Decision 20 id, certificate fingerprint) are also enforced by the
database; the cross-form rule (one agency's `short_id` is no other agency's `agency_id`)
and cycles are enforced only here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from axis import errors
from axis.errors import AxisError
from axis.registry.model import Agency, AgencyState


def _index(world: Mapping[str, Agency]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    ids: dict[str, set[str]] = defaultdict(set)
    certs: dict[str, set[str]] = defaultdict(set)
    for a in world.values():
        ids[a.agency_id].add(a.agency_id)
        ids[a.short_id].add(a.agency_id)
        for fp in a.certificates:
            certs[fp].add(a.agency_id)
    return ids, certs


def _parent_problem(
    before: Agency | None, after: Agency, world: Mapping[str, Agency]
) -> str | None:
    if after.parent_id is None:
        return None
    parent = world.get(after.parent_id)
    if parent is None:
        return f"parent {after.parent_id!r} is not registered"
    # Walk up: a cycle would make children_of (the sender check of the policy stage)
    # loop, and no agency can be its own ancestor.
    seen: set[str] = set()
    cursor: Agency | None = parent
    while cursor is not None and cursor.agency_id not in seen:
        if cursor.agency_id == after.agency_id:
            return f"parent {after.parent_id!r} would make a cycle"
        seen.add(cursor.agency_id)
        cursor = world.get(cursor.parent_id) if cursor.parent_id else None
    moved = before is None or before.parent_id != after.parent_id
    if moved and parent.state is AgencyState.RETIRED and after.state is not AgencyState.RETIRED:
        return f"parent {after.parent_id!r} is retired"
    return None


def problems(
    changes: Sequence[tuple[Agency | None, Agency]], world: Mapping[str, Agency]
) -> list[tuple[str, AxisError]]:
    """Every rule the changed entries break in `world` (the registry after the change),
    as (agency_id, error) pairs in the order of `changes`."""
    ids, certs = _index(world)
    out: list[tuple[str, AxisError]] = []
    for before, after in changes:
        who = after.agency_id
        for ident in dict.fromkeys((after.agency_id, after.short_id)):
            others = ids.get(ident, set()) - {who}
            if others:
                out.append((who, errors.REGISTRY_DUPLICATE_AGENCY.error(
                    f"{ident!r} of {who} is also an identifier of {', '.join(sorted(others))}"
                )))
        for fp in sorted(after.certificates):
            others = certs.get(fp, set()) - {who}
            if others:
                out.append((who, errors.REGISTRY_CERTIFICATE_BOUND.error(
                    f"{fp} is bound to {', '.join(sorted(others))}"
                )))
        problem = _parent_problem(before, after, world)
        if problem:
            out.append((who, errors.REGISTRY_INVALID_PARENT.error(f"{who}: {problem}")))
    return out


def parents_first(agencies: Iterable[Agency]) -> list[Agency]:
    """The entries ordered so that a parent is written before its children (the parent
    column is a foreign key, checked row by row)."""
    pending = {a.agency_id: a for a in agencies}
    done: set[str] = set()
    out: list[Agency] = []

    def visit(a: Agency, trail: frozenset[str]) -> None:
        if a.agency_id in done or a.agency_id in trail:
            return
        parent = pending.get(a.parent_id) if a.parent_id else None
        if parent is not None:
            visit(parent, trail | {a.agency_id})
        done.add(a.agency_id)
        out.append(a)

    for a in sorted(pending.values(), key=lambda a: a.agency_id):
        visit(a, frozenset())
    return out
