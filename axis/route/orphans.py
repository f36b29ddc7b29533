"""Collecting package bytes that no package row refers to.

The exchange stores a package's bytes inside its accept transaction, once every refusal
is decided, and commits the row that refers to them right after. Bytes without a row are
therefore left only by a transaction that failed after storing them: the node killed
between the write and the commit, the database gone at the commit, a node fault on the
way. Such bytes belong to nobody (the sender got no receipt and will send again), and an
agency must not be able to fill the disk with them: this collector deletes them.

Safe against a concurrent accept of the same bytes (content-addressed: a resubmission
finds the file already there). Only bytes untouched for a grace period are candidates
(the store refreshes the time of a file it finds already there), the database is asked
which candidates no row refers to, and the store deletes a candidate only if nothing
touched it meanwhile (`SweepableBlobs.discard`). The grace period must exceed the
longest accept transaction by far: an hour against seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Protocol, runtime_checkable

from axis.route.ports import RouteStore

GRACE = timedelta(hours=1)
_BATCH = 500  # digests looked up per database transaction


@runtime_checkable
class SweepableBlobs(Protocol):
    """A package store that can list and delete its files (adapters/store/blobs.py)."""

    def stale(self, before: datetime) -> Iterator[str]:
        """Digests of stored packages last written or touched before `before`; stray
        temporary files of interrupted writes older than that are removed on the way."""

    def discard(self, sha256: str, before: datetime) -> bool:
        """Delete the package unless it was written or touched since `before` (then it
        stays); True when deleted."""


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def collect_orphan_blobs(store: RouteStore, blobs: SweepableBlobs, before: datetime) -> int:
    """Delete the bytes untouched since `before` that no package row refers to; the
    number of packages deleted."""
    deleted = 0
    for chunk in _batches(blobs.stale(before), _BATCH):
        with store.transaction() as tx:
            orphans = [sha for sha in chunk if tx.get_package(sha) is None]
        deleted += sum(1 for sha in orphans if blobs.discard(sha, before))
    return deleted
