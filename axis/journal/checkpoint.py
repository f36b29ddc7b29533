"""Signed checkpoints of the journal: a journal that cannot be cut silently (issue 11).

The hash chain shows an edit anywhere in the sealed part, but not a cut at its end: whoever
can write the database can delete the last entries and set the seal head back to the new
last one, and the shorter chain verifies. A checkpoint is the node's signed statement
"at time T, the sealed chain reached seq S with link H". Kept outside the database (the
exported files an operator ships elsewhere), it shows such a cut: a journal whose seal
head is below S was truncated; one whose link at S is not H was rolled back or rewritten
(the chain links every entry to the one before, so H at S fixes every entry up to S).

Format (an independent verifier needs nothing else): the signed bytes are the UTF-8 of
the JSON object {format, seq, head, at, node} with sorted keys and no white space
(`canonical`); `format` is FORMAT (so that a signature over a checkpoint is never
mistaken for one over anything else the node signs); `at` is ISO 8601 in +07:00 to the
second; `node` is the SHA-256 of the signing certificate's DER. Signature: RSA PKCS#1
v1.5 or ECDSA, SHA-256, as the node key is. The exported file: {"checkpoint": the
object, "signature": base64, "certificates": PEM, the signer's first}.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from axis.clock import as_vietnam, iso
from axis.trust import detached
from axis.trust.sign import NodeSigner
from axis.trust.verdict import fingerprint

FORMAT = "axis.journal.checkpoint/1"
MAX_FILE_BYTES = 64 * 1024  # a checkpoint file is a few kilobytes: refuse anything larger


class CheckpointInvalid(ValueError):
    """A checkpoint that cannot be trusted: unreadable, not this format, or its signature
    does not hold (what a forged or edited file gives)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int  # the seal head's seq when it was taken (0: an empty journal)
    head: str  # the link (hash) of the entry at `seq`
    at: datetime  # when, +07:00
    node: str  # SHA-256 of the signing certificate (DER), lower-case hex

    def as_dict(self) -> dict[str, object]:
        return {"format": FORMAT, "seq": self.seq, "head": self.head, "at": iso(self.at),
                "node": self.node}


def canonical(cp: Checkpoint) -> bytes:
    return json.dumps(cp.as_dict(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("utf-8")


def parse(doc: object) -> Checkpoint:
    """The checkpoint object of an exported file; CheckpointInvalid otherwise."""
    try:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} object")
        if set(doc) != {"format", "seq", "head", "at", "node"}:
            raise ValueError(f"fields: {sorted(doc)}")
        seq, head, at, node = doc["seq"], doc["head"], doc["at"], doc["node"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("seq: a number ≥ 0")
        for name, value in (("head", head), ("node", node)):
            if not (isinstance(value, str) and len(value) == 64
                    and all(c in "0123456789abcdef" for c in value)):
                raise ValueError(f"{name}: 64 lower-case hex")
        if not isinstance(at, str):
            raise ValueError("at: ISO 8601")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("at: no offset")
    except (ValueError, TypeError) as exc:
        raise CheckpointInvalid(f"not a journal checkpoint: {exc}") from exc
    return Checkpoint(seq, head, as_vietnam(when), node)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: bytes
    certificates: str  # PEM, the signer's first

    def as_json(self) -> dict[str, object]:
        return {"checkpoint": self.checkpoint.as_dict(),
                "signature": base64.b64encode(self.signature).decode("ascii"),
                "certificates": self.certificates}

    @classmethod
    def from_json(cls, doc: object) -> SignedCheckpoint:
        try:
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            signature = base64.b64decode(str(doc["signature"]), validate=True)
            certificates = doc["certificates"]
            if not isinstance(certificates, str):
                raise ValueError("certificates: PEM text")
        except (ValueError, KeyError, binascii.Error) as exc:
            raise CheckpointInvalid(f"not a signed checkpoint: {exc}") from exc
        return cls(parse(doc["checkpoint"]), signature, certificates)


def make(seq: int, head: str, at: datetime, signer: NodeSigner) -> SignedCheckpoint:
    """The node's checkpoint of its seal head, signed with its key."""
    cp = Checkpoint(seq, head, as_vietnam(at).replace(microsecond=0), fingerprint(signer.cert))
    signature, pem = detached.sign(signer, canonical(cp))
    return SignedCheckpoint(cp, signature, pem)


def verify_signed(signed: SignedCheckpoint, *, trusted: Iterable[str]) -> Checkpoint:
    """The checkpoint when its signature holds and its signer is one of the `trusted`
    certificate fingerprints (the node's own certificate: the file carries one, which
    anybody could have made); CheckpointInvalid otherwise."""
    try:
        certs = detached.certificates(signed.certificates)
    except ValueError as exc:
        raise CheckpointInvalid(f"unreadable certificates: {exc}") from exc
    leaf = certs[0]
    fp = fingerprint(leaf)
    cp = signed.checkpoint
    if fp != cp.node:
        raise CheckpointInvalid(f"signed by certificate {fp}, but names {cp.node}")
    if fp not in set(trusted):
        raise CheckpointInvalid(f"signing certificate {fp} is not the node's")
    bad = detached.problem(leaf, signed.signature, canonical(cp))
    if bad is not None:
        raise CheckpointInvalid(f"{bad}: the checkpoint (certificate {fp})")
    return cp


class Verdict(StrEnum):
    OK = "ok"  # the journal holds everything the checkpoint vouched for
    TRUNCATED = "truncated"  # sealed entries the checkpoint covered are gone
    ROLLED_BACK = "rolled_back"  # the entry at the checkpoint's seq is not the one sealed


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    verdict: Verdict
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


def check(sealed_seq: int, link: str | None, checkpoint: Checkpoint) -> CheckpointCheck:
    """The journal against `checkpoint`: `sealed_seq` is its seal head now (a
    ChainReport's `sealed_seq`), `link` the hash of its entry at the checkpoint's seq
    (None when there is none or it is unsealed).

    The chain report says whether the chain holds on its own; this says whether it still
    reaches what was vouched for. Both must hold (a chain broken below the checkpoint is
    the chain report's finding, not repeated here)."""
    if checkpoint.seq == 0:
        return CheckpointCheck(Verdict.OK)
    if sealed_seq < checkpoint.seq or link is None:
        return CheckpointCheck(Verdict.TRUNCATED, (
            f"the checkpoint of {iso(checkpoint.at)} vouches for sealed entries up to seq "
            f"{checkpoint.seq}, but the journal's seal head is at seq {sealed_seq}"
            + ("" if link is not None else
               f" and seq {checkpoint.seq} holds no sealed entry")
            + ": entries were removed from the end"))
    if link != checkpoint.head:
        return CheckpointCheck(Verdict.ROLLED_BACK, (
            f"the entry at seq {checkpoint.seq} is not the one the checkpoint of "
            f"{iso(checkpoint.at)} vouches for (link {link[:16]}…, checkpoint "
            f"{checkpoint.head[:16]}…): the journal was rolled back or rewritten"))
    return CheckpointCheck(Verdict.OK)
