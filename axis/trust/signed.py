"""The trust stage as the pipeline uses it: verify, decide, then read ONLY what was signed.

`verify_and_read` is the natural path: the typed package it returns was read from the
verifier's `signed_root`, never from the tree the bytes were parsed into. The one
exception is an unsigned package admitted by the migration policy: nothing in it is
signed, and the admission says so (`admission.signed` is False, with a warning to
journal).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from axis import errors
from axis.edxml.model import Package, SignatureState
from axis.edxml.validate import CheckResult, Validator
from axis.errors import Finding
from axis.trust.policy import Admission, TrustPolicy, decide
from axis.trust.verdict import State, Verdict
from axis.trust.verify import Verifier, sender_of


@dataclass(frozen=True, slots=True)
class TrustedPackage:
    package: Package  # read from the signed content (or an admitted unsigned package)
    admission: Admission
    check: CheckResult  # the validator's findings (warnings) on that same tree

    @property
    def verdict(self) -> Verdict:
        return self.admission.verdict

    @property
    def signature(self) -> str:
        """verified, or absent/placeholder admitted by the migration policy."""
        return self.verdict.state.value

    @property
    def signer_fingerprint(self) -> str:
        return self.verdict.signer.fingerprint if self.verdict.signer else ""

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Everything to journal with the package: the policy's, then the reader's."""
        return self.admission.warnings + self.check.warnings


def verify_and_read(
    raw: bytes,
    at: datetime,
    *,
    verifier: Verifier,
    validator: Validator,
    policy: TrustPolicy,
) -> TrustedPackage:
    """Raise the refusal (`trust.*` first, then `edxml.*`), or return what later stages
    read. Bytes that are not an XML package at all raise the parser's `edxml.*` error."""
    verdict = verifier.verify(raw, at)
    signature: SignatureState | None
    if verdict.state is State.VERIFIED:
        tree = verdict.signed_root
        sender = verdict.signer.agency_id if verdict.signer else None
        # The enveloped transform took the signature out of the signed content, so the
        # reader sees none there: the package says what the verdict established.
        signature = SignatureState.PRESENT
    else:
        tree = verdict.unsigned_root  # None when invalid: decide() raises below
        sender = sender_of(tree) if tree is not None else ""
        signature = SignatureState(verdict.state.value) if tree is not None else None
    admission = decide(policy, verdict, sender or "")  # raises unless admitted
    if tree is None or signature is None:
        raise errors.INTERNAL.error(f"admitted a {verdict.state.value} verdict without a tree")
    # The tree is this call's own (parsed by the verifier, read by no one after): each
    # attachment's base64 leaves it as soon as Python holds its own copy (issue 9).
    result = validator.check_tree(tree, release_text=True, lifted=verdict.lifted)
    package = Validator.accept(result, raw).package
    return TrustedPackage(replace(package, signature=signature), admission, result)
