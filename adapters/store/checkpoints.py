"""The journal's signed checkpoints: taken from the seal head, kept on
`journal_checkpoints` (adapters/store/checkpoint_tables.py) and exported, each one, as a
file `<dir>/checkpoint-<seq>.json` (axis/journal/checkpoint.py gives its format).

The files are the point: whoever can cut the journal in the database can delete these
rows too, so an auditor verifies against files shipped off the node (`axis audit verify
--checkpoint DIR`). A file is written whole or not at all (a temporary file, fsync,
rename): a crash never leaves half a checkpoint that would then read as forged.

Taking one (`take`) first checks the journal against the latest checkpoint the node
already holds (its table and its export directory): a node never signs over a journal
that was cut below what it vouched for before, it fails with node.journal_truncated.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from adapters.store import route_journal
from adapters.store.checkpoint_tables import journal_checkpoints
from adapters.store.route_journal import link_at
from adapters.store.route_repo import READ_ONLY
from axis import errors
from axis.clock import iso
from axis.journal import checkpoint as cpt
from axis.journal.checkpoint import Checkpoint, CheckpointInvalid, SignedCheckpoint
from axis.settings import Settings
from axis.trust.sign import NodeSigner
from axis.trust.verdict import fingerprint

_t = journal_checkpoints
PREFIX, SUFFIX = "checkpoint-", ".json"


def export_dir(settings: Settings) -> Path:
    return settings.audit.checkpoint_dir or settings.data_dir / "checkpoints"


def file_name(seq: int) -> str:
    # Zero-padded: a directory listing sorts by seq.
    return f"{PREFIX}{seq:012d}{SUFFIX}"


# --- files (no database: what `axis audit verify --checkpoint` reads) -------------------
def load(path: Path) -> SignedCheckpoint:
    """One exported file; CheckpointInvalid when it is not a signed checkpoint."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(cpt.MAX_FILE_BYTES + 1)
        if len(raw) > cpt.MAX_FILE_BYTES:
            raise CheckpointInvalid(f"{path}: larger than {cpt.MAX_FILE_BYTES} bytes")
        doc = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointInvalid(f"{path}: {exc}") from exc
    return SignedCheckpoint.from_json(doc)


def files(directory: Path) -> list[Path]:
    """The checkpoint files in `directory`, latest (highest seq) first."""
    if not directory.is_dir():
        return []
    found: list[tuple[int, Path]] = []
    for p in directory.iterdir():
        middle = p.name[len(PREFIX):-len(SUFFIX)]
        if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX) and middle.isdigit():
            found.append((int(middle), p))
    return [p for _, p in sorted(found, reverse=True)]


def latest_given(path: Path) -> Path:
    """FILE itself, or the latest checkpoint file in DIR (by seq)."""
    if path.is_dir():
        found = files(path)
        if not found:
            raise errors.CONFIG_INVALID.error(f"{path}: no {PREFIX}<seq>{SUFFIX} file")
        return found[0]
    if not path.is_file():
        raise errors.CONFIG_INVALID.error(f"{path}: no such file or directory")
    return path


def write(directory: Path, signed: SignedCheckpoint) -> Path:
    """Export `signed` atomically; the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file_name(signed.checkpoint.seq)
    body = json.dumps(signed.as_json(), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)
    return target


def latest_valid_file(directory: Path, trusted: Iterable[str]) -> Checkpoint | None:
    """The latest exported checkpoint whose signature holds (a file that does not is
    skipped here: the node's own check must not be stopped by a stray file; the audit
    reports it)."""
    fps = set(trusted)
    for path in files(directory):
        try:
            return cpt.verify_signed(load(path), trusted=fps)
        except CheckpointInvalid:
            continue
    return None


def judge_file(path: Path, trusted: Iterable[str]
               ) -> tuple[Path, Checkpoint] | tuple[Path, str]:
    """(file, its checkpoint) when its signature holds with one of the `trusted`
    certificates (SHA-256 fingerprints); (file, why not) otherwise."""
    fps = set(trusted)
    if not fps:
        return path, ("no node certificate to check the signature with: give --cert "
                      "(the node's certificate, PEM)")
    try:
        return path, cpt.verify_signed(load(path), trusted=fps)
    except CheckpointInvalid as exc:
        return path, str(exc)


def verdict_report(given: tuple[Path, Checkpoint] | tuple[Path, str], sealed_seq: int,
                   link: str | None) -> dict[str, Any]:
    """The journal (its seal head `sealed_seq`, the link at the checkpoint's seq) against
    a judged file: what `axis audit verify --checkpoint` prints and the console shows."""
    path, cp = given
    if isinstance(cp, str):
        return {"file": str(path), "verdict": "refused", "reason": cp}
    verdict = cpt.check(sealed_seq, link, cp)
    return {"file": str(path), "seq": cp.seq, "head": cp.head, "at": iso(cp.at),
            "node": cp.node, "verdict": verdict.verdict.value, "reason": verdict.reason}


# --- the table --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Taken:
    checkpoint: Checkpoint
    new: bool  # False: the latest checkpoint already covers this seal head
    path: Path | None  # the exported file (None when another process took it)


class SqlCheckpoints:
    def __init__(self, engine: Engine, directory: Path) -> None:
        self._engine, self.directory = engine, directory

    @contextmanager
    def _tx(self, *, read_only: bool = False) -> Iterator[Connection]:
        try:
            # Reads take no write lock (SQLite: a deferred BEGIN, route_repo.READ_ONLY):
            # reading the export directory must not hold up the node's writers.
            with self._engine.connect().execution_options(**{READ_ONLY: read_only}) as conn, \
                    conn.begin():
                yield conn
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise errors.STORE_UNAVAILABLE.error(
                f"journal checkpoints: {type(exc).__name__}") from exc

    def latest(self) -> SignedCheckpoint | None:
        with self._tx(read_only=True) as conn:
            row = conn.execute(select(_t).order_by(_t.c.seq.desc()).limit(1)).mappings().first()
        if row is None:
            return None
        return SignedCheckpoint(
            Checkpoint(int(row["seq"]), row["head"], row["at"], row["signer"]),
            base64.b64decode(row["signature"]), row["certificates"])

    def all(self) -> list[Checkpoint]:
        with self._tx(read_only=True) as conn:
            rows = conn.execute(select(_t.c.seq, _t.c.head, _t.c.at, _t.c.signer)
                                .order_by(_t.c.seq)).all()
        return [Checkpoint(int(r.seq), r.head, r.at, r.signer) for r in rows]

    def take(self, at: datetime, signer: NodeSigner) -> Taken:
        """Sign a checkpoint of the seal head as it is now (seal first: the caller), keep
        and export it. Safe in several processes: one row per seal head, a second taker
        of the same head keeps none. node.journal_broken when the head does not match
        its entry, node.journal_truncated when the journal is below a checkpoint held."""
        with self._tx(read_only=True) as conn:
            head = route_journal.head(conn)
            link = link_at(conn, head.seq) if head.seq else head.hash
            if link != head.hash:
                raise errors.JOURNAL_BROKEN.error(
                    f"the seal head (seq {head.seq}) does not match its entry: no checkpoint")
            known = self._latest_known(conn, signer)
            if known is not None:
                verdict = cpt.check(head.seq, link_at(conn, known.seq) if known.seq else
                                    known.head, known)
                if not verdict.ok:
                    raise errors.JOURNAL_TRUNCATED.error(verdict.reason)
                if known.seq == head.seq:
                    self._export_missing(conn)
                    return Taken(known, False, None)
        signed = cpt.make(head.seq, head.hash, at, signer)
        cp = signed.checkpoint
        try:
            with self._tx() as conn:
                conn.execute(insert(_t).values(
                    seq=cp.seq, head=cp.head, at=cp.at, signer=cp.node,
                    signature=base64.b64encode(signed.signature).decode("ascii"),
                    certificates=signed.certificates))
        except IntegrityError:
            return Taken(cp, False, None)  # another process checkpointed this head first
        return Taken(cp, True, self.export(signed))

    def export(self, signed: SignedCheckpoint) -> Path:
        try:
            return write(self.directory, signed)
        except OSError as exc:
            raise errors.CONFIG_INVALID.error(
                f"checkpoint export to {self.directory}: {exc}") from exc

    def _latest_known(self, conn: Connection, signer: NodeSigner) -> Checkpoint | None:
        row = conn.execute(select(_t.c.seq, _t.c.head, _t.c.at, _t.c.signer)
                           .order_by(_t.c.seq.desc()).limit(1)).first()
        held = Checkpoint(int(row.seq), row.head, row.at, row.signer) if row else None
        shipped = latest_valid_file(self.directory, {fingerprint(signer.cert)})
        if held is None or (shipped is not None and shipped.seq > held.seq):
            return shipped
        return held

    def _export_missing(self, conn: Connection) -> None:
        """The latest row's file, when a crash came between its insert and its export."""
        row = conn.execute(select(_t).order_by(_t.c.seq.desc()).limit(1)).mappings().first()
        if row is None or (self.directory / file_name(int(row["seq"]))).exists():
            return
        self.export(SignedCheckpoint(
            Checkpoint(int(row["seq"]), row["head"], row["at"], row["signer"]),
            base64.b64decode(row["signature"]), row["certificates"]))
