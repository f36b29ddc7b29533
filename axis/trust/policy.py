"""What the node accepts, given a verdict: by default only `verified` (Art. 7.1, 12.3).

During a migration an administrator may admit unsigned packages (`absent` or
`placeholder`) from named agencies (`trust.admit_unsigned`). Every such admission carries
a `trust.unsigned_admitted` warning, and every legacy SHA-1 admission a `trust.legacy_sha1`
warning: the caller journals them. (The journal is a later issue; `decide` returns the
warnings instead of writing them, so that it stays a pure function.)

An `invalid` verdict is never admitted, whatever the exception list says: a forgery or an
altered package is not a migration problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from axis import errors
from axis.errors import Finding
from axis.settings import TrustSettings
from axis.trust.verdict import State, Verdict


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    admit_unsigned: frozenset[str] = frozenset()  # agency identifiers, as in From/OrganId
    # Issue 10: a package a peer node brought is judged with that peer's own list added
    # (`for_peer`); `admit_any` is that list's "*" (every sender the peer brings).
    admit_any: bool = False
    source: str = "the migration exception list (trust.admit_unsigned)"

    def for_peer(self, peer: str, admits: frozenset[str]) -> TrustPolicy:
        return TrustPolicy(self.admit_unsigned | (admits - {"*"}), admit_any="*" in admits,
                           source=f"the admission list of peer {peer}")

    @classmethod
    def of(cls, agencies: Iterable[str]) -> TrustPolicy:
        return cls(frozenset(a.strip() for a in agencies if a.strip()))

    @classmethod
    def from_settings(cls, settings: TrustSettings) -> TrustPolicy:
        return cls.of(settings.admit_unsigned)


@dataclass(frozen=True, slots=True)
class Admission:
    """A package let through: its verdict and the warnings to journal with it."""

    verdict: Verdict
    sender_id: str
    warnings: tuple[Finding, ...] = ()

    @property
    def signed(self) -> bool:
        return self.verdict.state is State.VERIFIED


def decide(policy: TrustPolicy, verdict: Verdict, sender_id: str) -> Admission:
    """Admit, with warnings to journal, or raise the verdict's error.

    `sender_id`: for a verified package, the signed `From/OrganId` (the verdict's signer
    agency); for an unsigned one, the `From/OrganId` it claims: nothing better exists,
    and the exception list names agencies that the transport layer authenticates.
    """
    if verdict.state is State.VERIFIED:
        warnings: tuple[Finding, ...] = ()
        if verdict.legacy_sha1:
            warnings = (errors.LEGACY_SHA1_ADMITTED.finding(
                f"signer {verdict.signer.subject if verdict.signer else '?'}"),)
        return Admission(verdict, sender_id, warnings)
    if verdict.state in (State.ABSENT, State.PLACEHOLDER) and (
            policy.admit_any or sender_id in policy.admit_unsigned):
        return Admission(verdict, sender_id, (errors.UNSIGNED_ADMITTED.finding(
            f"{verdict.state.value} signature from {sender_id}, admitted by "
            f"{policy.source}"),))
    code = verdict.code or errors.SIGNATURE_INVALID
    raise code.error(verdict.reason)
