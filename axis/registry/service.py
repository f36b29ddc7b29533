"""The agency registry: identifiers in both forms, states, certificates, credentials.

Art. 8.2: every agency exchanging documents has an identifier set by the provincial
committee; this is where the node keeps them. Art. 22: accounts are created, changed and
revoked on request; so every change here names who made it and why, and is kept in the
agency's history with the instant from the injected clock.

Reads on the hot path (find, resolve, list, children, speaks_for, certificate owners,
credentials, authenticate) serve from an in-memory snapshot of the whole registry
(`axis.registry.live`), refreshed when the registry's version moves; `authenticate`
checks the version on every call, so a revoked credential fails on the next request.
Changes read what they change from the store itself, never from the snapshot: a snapshot
may be up to `snapshot_max_age` old, and a change built on it could undo another's.
"""

from __future__ import annotations

import builtins
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from axis import errors
from axis.clock import Clock
from axis.errors import AxisError, Finding
from axis.registry import codec, consistency, credentials, rules
from axis.registry.live import MAX_AGE_SECONDS, LiveSnapshot
from axis.registry.model import (
    Agency,
    AgencyChange,
    AgencyKind,
    AgencyState,
    Credential,
)
from axis.registry.ports import RegistryStore

MAX_ACTOR = 200


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # existing entries left alone by an add-only import (the seed)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    credential: Credential
    secret: str  # shown to the administrator once; never stored


class Registry:
    def __init__(
        self, store: RegistryStore, clock: Clock, *, province: str = rules.PROVINCE,
        snapshot_max_age: float = MAX_AGE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self.province = province
        self._live = LiveSnapshot(store, max_age=snapshot_max_age, monotonic=monotonic)

    # --- lookups -------------------------------------------------------------------------
    def find(self, identifier: str) -> Agency | None:
        """The agency named by either identifier form, or None (routing's directory)."""
        ident = identifier.strip()
        return self._live.current().find(ident) if ident else None

    def resolve(self, identifier: str) -> Agency:
        """The agency named by either form; raises `registry.unknown_agency`."""
        agency = self.find(identifier)
        if agency is None:
            raise errors.REGISTRY_UNKNOWN_AGENCY.error(repr(identifier))
        return agency

    def list(
        self, *, state: AgencyState | None = None, kind: AgencyKind | None = None
    ) -> builtins.list[Agency]:
        return self._live.current().list(state=state, kind=kind)

    def children_of(self, identifier: str, *, recursive: bool = False) -> builtins.list[Agency]:
        """The registered child units (all descendants when `recursive`): the policy
        stage accepts a sender that is the authenticated agency or one of these."""
        snap = self._live.current()
        root = snap.find(identifier.strip())
        if root is None:
            raise errors.REGISTRY_UNKNOWN_AGENCY.error(repr(identifier))
        return snap.descendants(root.agency_id, recursive=recursive)

    def speaks_for(self, authenticated: str, sender: str) -> bool:
        """Whether `sender` is the authenticated agency or one of its descendants."""
        snap = self._live.current()
        me, them = snap.find(authenticated.strip()), snap.find(sender.strip())
        if me is None or them is None:
            return False
        return me.agency_id == them.agency_id or them.agency_id in {
            c.agency_id for c in snap.descendants(me.agency_id)
        }

    def history(self, identifier: str) -> builtins.list[AgencyChange]:
        return self._store.history(self._stored(identifier).agency_id)

    def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        return self._live.current().agency_for_certificate(
            rules.normalise_fingerprint(fingerprint))

    # --- changes to one agency -----------------------------------------------------------
    def restore(self, agency: Agency, change: AgencyChange) -> None:
        """Write an agency as a recorded change left it, without judging it again: the
        sandbox of `axis audit replay` (issue 11) rebuilds the registry of the past
        change by change, each of which the rules judged when it was made."""
        self._store.save(agency, change)
        self._live.invalidate()

    def add(self, agency: Agency, *, actor: str, reason: str) -> Agency:
        actor, reason = _who(actor, reason)
        entry = rules.check_entry(agency, province=self.province)
        if self._store.get(entry.agency_id) is not None:
            raise errors.REGISTRY_DUPLICATE_AGENCY.error(f"{entry.agency_id} is registered")
        self._check_world([(None, entry)])
        self._store.save(entry, self._change(None, entry, "add", actor, reason))
        self._live.invalidate()
        return entry

    def update(self, agency: Agency, *, actor: str, reason: str) -> Agency:
        """Replace a registered entry's fields; a state change in it follows the same
        transitions as `suspend`, `reactivate` and `retire`."""
        actor, reason = _who(actor, reason)
        entry = rules.check_entry(agency, province=self.province)
        before = self._store.get(entry.agency_id)
        if before is None:
            raise errors.REGISTRY_UNKNOWN_AGENCY.error(repr(entry.agency_id))
        action = _action(before, entry)
        if action is None:
            return before
        self._check_world([(before, entry)])
        self._store.save(entry, self._change(before, entry, action, actor, reason))
        self._live.invalidate()
        return entry

    def suspend(self, identifier: str, *, actor: str, reason: str) -> Agency:
        return self._move(identifier, AgencyState.SUSPENDED, actor, reason)

    def reactivate(self, identifier: str, *, actor: str, reason: str) -> Agency:
        return self._move(identifier, AgencyState.ACTIVE, actor, reason)

    def retire(self, identifier: str, *, actor: str, reason: str) -> Agency:
        return self._move(identifier, AgencyState.RETIRED, actor, reason)

    def _move(self, identifier: str, state: AgencyState, actor: str, reason: str) -> Agency:
        actor, reason = _who(actor, reason)
        before = self._stored(identifier)
        action = rules.transition(before.state, state)
        after = dataclasses.replace(before, state=state)
        self._store.save(after, self._change(before, after, action, actor, reason))
        self._live.invalidate()
        return after

    def bind_certificate(
        self, identifier: str, fingerprint: str, *, actor: str, reason: str
    ) -> Agency:
        """Bind a signing certificate (SHA-256 of its DER) to the agency: the trust
        stage then accepts its signatures for this agency (Art. 7.1, origin)."""
        actor, reason = _who(actor, reason)
        fp = rules.normalise_fingerprint(fingerprint)
        before = self._writable(identifier)
        owner = self._store.agency_for_certificate(fp)
        if owner is not None and owner.agency_id != before.agency_id:
            raise errors.REGISTRY_CERTIFICATE_BOUND.error(f"{fp} is bound to {owner.agency_id}")
        if fp in before.certificates:
            return before
        after = dataclasses.replace(before, certificates=before.certificates | {fp})
        self._store.save(after, self._change(before, after, "bind-certificate", actor, reason))
        self._live.invalidate()
        return after

    def unbind_certificate(
        self, identifier: str, fingerprint: str, *, actor: str, reason: str
    ) -> Agency:
        actor, reason = _who(actor, reason)
        fp = rules.normalise_fingerprint(fingerprint)
        before = self._writable(identifier)
        if fp not in before.certificates:
            raise errors.REGISTRY_INVALID_CERTIFICATE.error(
                f"{fp} is not bound to {before.agency_id}"
            )
        after = dataclasses.replace(before, certificates=before.certificates - {fp})
        self._store.save(after, self._change(before, after, "unbind-certificate", actor, reason))
        self._live.invalidate()
        return after

    # --- credentials (Art. 22) -----------------------------------------------------------
    def issue_credential(
        self, identifier: str, *, actor: str, reason: str, system_id: str | None = None,
        secret_for: Callable[[str], str] | None = None,
    ) -> IssuedCredential:
        """A new credential. `secret_for(system_id)` derives the secret instead of drawing
        it at random: the agency API re-derives it from a master key kept outside the
        database to verify request signatures (axis/auth/signing.py)."""
        actor, reason = _who(actor, reason)
        agency = self._writable(identifier)
        sid = credentials.check_system_id(
            system_id.strip() if system_id else credentials.new_system_id(agency.short_id)
        )
        if self._store.credential(sid) is not None:
            raise errors.REGISTRY_DUPLICATE_CREDENTIAL.error(sid)
        secret = secret_for(sid) if secret_for else credentials.new_secret()
        cred = Credential(sid, agency.agency_id, credentials.hash_secret(secret), self._clock.now())
        change = AgencyChange(
            agency.agency_id, cred.issued_at, actor, reason, "issue-credential",
            None, {"system_id": sid},
        )
        self._store.add_credential(cred, change)
        self._live.invalidate()
        return IssuedCredential(cred, secret)

    def revoke_credential(self, system_id: str, *, actor: str, reason: str) -> Credential:
        """Cut a credential off at once (Art. 22: a compromised credential)."""
        actor, reason = _who(actor, reason)
        cred = self._store.credential(system_id.strip())
        if cred is None:
            raise errors.REGISTRY_UNKNOWN_CREDENTIAL.error(repr(system_id))
        if cred.revoked_at is not None:
            raise errors.REGISTRY_INVALID_TRANSITION.error(f"{cred.system_id} is revoked")
        at = self._clock.now()
        change = AgencyChange(
            cred.agency_id, at, actor, reason, "revoke-credential",
            {"system_id": cred.system_id, "revoked": False},
            {"system_id": cred.system_id, "revoked": True},
        )
        self._store.revoke_credential(cred.system_id, at, change)
        self._live.invalidate()
        return dataclasses.replace(cred, revoked_at=at)

    def credentials(self, identifier: str) -> builtins.list[Credential]:
        snap = self._live.current()
        agency = snap.find(identifier.strip())
        if agency is None:
            raise errors.REGISTRY_UNKNOWN_AGENCY.error(repr(identifier))
        return snap.credentials(agency.agency_id)

    def authenticate(self, system_id: str, secret: str) -> Agency:
        """The active agency a system speaks for; `registry.credential_invalid` for
        every failure alike, so that a caller learns nothing about which part failed.

        The registry's version is read on every call (one single-row read): a
        credential revoked by any process fails on the next request (Art. 22)."""
        snap = self._live.fresh()
        cred = snap.credential(system_id)
        # Hash even for an unknown id: the answer takes the same time either way.
        ok = credentials.secret_matches(secret, cred.secret_hash if cred else "sha256:")
        agency = snap.get(cred.agency_id) if cred and ok else None
        if cred is None or cred.revoked_at is not None or agency is None or not agency.active:
            raise errors.REGISTRY_CREDENTIAL_INVALID.error(f"system {system_id!r}")
        return agency

    # --- import and export ---------------------------------------------------------------
    def export(self) -> builtins.list[Agency]:
        return self._store.list()

    def import_rows(
        self, rows: Sequence[codec.Row], *, actor: str, reason: str, only_new: bool = False
    ) -> ImportReport:
        """Upsert every row, or nothing: all rows are checked (alone and together,
        against the registry as it would be) before the first write. `only_new` leaves
        registered agencies alone: the seed must never undo an administrator's change."""
        actor, reason = _who(actor, reason)
        world = {a.agency_id: a for a in self._store.list()}
        found: builtins.list[Finding] = []
        seen: dict[str, str] = {}
        changes: builtins.list[tuple[Agency | None, Agency, str]] = []
        unchanged = skipped = 0
        for row in rows:
            try:
                fields = codec.parse_fields(row.fields)
                before = world.get(str(fields.get("agency_id", "")).strip())
                if before is not None and only_new:
                    skipped += 1
                    continue
                entry = rules.check_entry(codec.merge(before, fields), province=self.province)
                if entry.agency_id in seen:
                    raise errors.REGISTRY_DUPLICATE_AGENCY.error(
                        f"{entry.agency_id} also at {seen[entry.agency_id]}"
                    )
                seen[entry.agency_id] = row.where
                action = _action(before, entry)
            except ValueError as exc:
                found.append(errors.REGISTRY_IMPORT_INVALID.finding(str(exc), path=row.where))
                continue
            except AxisError as exc:
                found.append(_at(exc, row.where))
                continue
            if action is None:
                unchanged += 1
            else:
                changes.append((before, entry, action))
        result = dict(world) | {entry.agency_id: entry for _, entry, _ in changes}
        for agency_id, err in consistency.problems([(b, e) for b, e, _ in changes], result):
            found.append(_at(err, seen.get(agency_id, agency_id)))
        if found:
            raise errors.REGISTRY_IMPORT_INVALID.error(
                f"{len(found)} problem(s) in {len(rows)} rows; nothing was written",
                findings=tuple(found),
            )
        by_id = {e.agency_id: (b, e, a) for b, e, a in changes}
        ordered = [by_id[e.agency_id] for e in consistency.parents_first(e for _, e, _ in changes)]
        self._store.save_many([(e, self._change(b, e, a, actor, reason)) for b, e, a in ordered])
        self._live.invalidate()
        added = sum(1 for b, _, _ in changes if b is None)
        return ImportReport(added, len(changes) - added, unchanged, skipped)

    # --- helpers -------------------------------------------------------------------------
    def _stored(self, identifier: str) -> Agency:
        """The agency as the store has it now: what a change starts from."""
        ident = identifier.strip()
        agency = self._store.find(ident) if ident else None
        if agency is None:
            raise errors.REGISTRY_UNKNOWN_AGENCY.error(repr(identifier))
        return agency

    def _writable(self, identifier: str) -> Agency:
        agency = self._stored(identifier)
        if agency.state is AgencyState.RETIRED:
            raise errors.REGISTRY_INVALID_TRANSITION.error(
                f"{agency.agency_id} is retired (final): no further change"
            )
        return agency

    def _check_world(self, changes: builtins.list[tuple[Agency | None, Agency]]) -> None:
        world = {a.agency_id: a for a in self._store.list()}
        world |= {after.agency_id: after for _, after in changes}
        found = consistency.problems(changes, world)
        if found:
            raise found[0][1]

    def _change(
        self, before: Agency | None, after: Agency, action: str, actor: str, reason: str
    ) -> AgencyChange:
        return AgencyChange(
            agency_id=after.agency_id,
            at=self._clock.now(),
            actor=actor,
            reason=reason,
            action=action,
            before=codec.agency_to_dict(before) if before else None,
            after=codec.agency_to_dict(after),
        )


def _who(actor: str, reason: str) -> tuple[str, str]:
    """Who and why are mandatory on every change (Art. 22: on request, so the request
    is named)."""
    actor, reason = actor.strip(), reason.strip()
    if not actor or not reason or len(actor) > MAX_ACTOR or len(reason) > rules.MAX_TEXT:
        raise errors.REGISTRY_REASON_MISSING.error(
            f"actor (1–{MAX_ACTOR} chars) and reason (1–{rules.MAX_TEXT} chars) are required"
        )
    return actor, reason


def _action(before: Agency | None, after: Agency) -> str | None:
    """What a change is called in the history; None when nothing changes."""
    if before is None:
        return "add"
    if after == before:
        return None
    if before.state is AgencyState.RETIRED:
        raise errors.REGISTRY_INVALID_TRANSITION.error(
            f"{before.agency_id} is retired (final): no further change"
        )
    if after.state is before.state:
        return "update"
    action = rules.transition(before.state, after.state)
    return action if dataclasses.replace(after, state=before.state) == before else "update"


def _at(exc: AxisError, where: str) -> Finding:
    return Finding(code=exc.code, detail=exc.detail, path=where)
