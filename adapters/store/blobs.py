"""FileBlobs: raw package bytes on disk, content-addressed (`root/ab/cd/<sha256>`).

Stored once: the name is the SHA-256 of the bytes, so a second `put` of the same package
finds the file and writes nothing. Large packages never travel through the broker: rows
and messages carry the digest, the bytes stay here.

Durability (the receipt is returned only once the package is durable): write a temporary
file in the target directory, fsync it, rename it over the final name (atomic on POSIX),
then fsync the directory so that the rename itself survives a power cut. A crash leaves
either no file or the whole file, never a torn one; at worst a stray `.tmp-*` file.

Reads check the digest: bit rot or an edited file is a node fault (`node.package_corrupt`),
never bytes forwarded as if they were the sender's.

Collection (axis/route/orphans.py): bytes no package row refers to are deleted once
untouched for a grace period. A `put` that finds the file already there refreshes its
time, so that bytes being accepted again are never taken for stale; `discard` first moves
the file aside (an atomic rename), then deletes it only if its time is still old, and
otherwise puts it back. A `put` racing with it either touched the file before the rename
(the time is fresh: put back) or finds no file and writes it anew.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from axis import errors
from axis.route.model import PackageContent

_SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK = 256 * 1024  # a read of a package handed out (PackageBlobs.content)
_ASIDE = re.compile(r"\.gc-([0-9a-f]{64})-[0-9a-f]{32}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileBlobs:
    """PackageBlobs (axis/route/ports.py) on a local or shared file system."""

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root

    def path_of(self, sha256: str) -> Path:
        # Only a well-formed digest becomes a path: nothing like "../" reaches the disk.
        if not _SHA256.fullmatch(sha256):
            raise errors.PACKAGE_MISSING.error(f"not a SHA-256 digest: {sha256[:80]!r}")
        return self._root / sha256[:2] / sha256[2:4] / sha256

    def _make_dirs(self, directory: Path) -> None:
        """Create the fan-out directories, fsyncing each new entry's parent: a directory
        that vanishes in a crash would take the package with it."""
        missing: list[Path] = []
        d = directory
        while not d.exists():
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            d.mkdir(exist_ok=True)  # exist_ok: another node may create it meanwhile
            _fsync_dir(d.parent)

    def put(self, raw: bytes, sha256: str | None = None) -> str:
        sha = sha256 or hashlib.sha256(raw).hexdigest()
        final = self.path_of(sha)
        try:
            if self._still_there(final, sha):
                return sha  # stored once: the same bytes are already there
            # Absent, or rotten: (re)written, so a resubmission heals a damaged copy.
            self._make_dirs(final.parent)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(raw)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_dir(final.parent)
        except OSError as exc:
            raise errors.STORE_UNAVAILABLE.error(f"package store: {exc}") from exc
        return sha

    def _still_there(self, final: Path, sha: str) -> bool:
        """The intact file is there, and its time refreshed (not stale for the collector).
        False when absent, rotten, or moved aside by the collector meanwhile."""
        try:
            if not (final.is_file() and self._intact(final, sha)):
                return False
            os.utime(final)
        except FileNotFoundError:
            return False
        return True

    @staticmethod
    def _intact(path: Path, sha256: str) -> bool:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest() == sha256

    def get(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise errors.PACKAGE_MISSING.error(sha256) from exc
        except OSError as exc:
            raise errors.STORE_UNAVAILABLE.error(f"package store: {exc}") from exc
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise errors.PACKAGE_CORRUPT.error(sha256)
        return raw

    def content(self, sha256: str) -> PackageContent:
        """A small package is read once, checked, and handed out as held. A large one is
        checked by a first streamed read and sent by a second: the file is
        content-addressed, so whatever replaces it meanwhile (a heal) has the same bytes."""
        path = self.path_of(sha256)
        try:
            size = path.stat().st_size
            if size <= CHUNK:
                # The common, small package: one read, checked and handed out as held.
                held = self.get(sha256)
                return PackageContent(sha256, len(held), lambda: iter((held,)))
            intact = self._intact(path, sha256)
        except FileNotFoundError as exc:
            raise errors.PACKAGE_MISSING.error(sha256) from exc
        except OSError as exc:
            raise errors.STORE_UNAVAILABLE.error(f"package store: {exc}") from exc
        if not intact:
            raise errors.PACKAGE_CORRUPT.error(sha256)

        def chunks() -> Iterator[bytes]:
            try:
                with path.open("rb") as fh:
                    yield from iter(lambda: fh.read(CHUNK), b"")
            except OSError as exc:
                raise errors.STORE_UNAVAILABLE.error(f"package store: {exc}") from exc

        return PackageContent(sha256, size, chunks)

    def exists(self, sha256: str) -> bool:
        if not _SHA256.fullmatch(sha256):
            return False
        return self.path_of(sha256).is_file()

    # --- collection (axis/route/orphans.py) ----------------------------------------------
    def stale(self, before: datetime) -> Iterator[str]:
        """Digests of packages not written or touched since `before`. On the way: stray
        `.tmp-*` files of interrupted writes older than that are removed, and files a
        collector left aside (killed between its rename and its decision) are put back
        for the next pass to judge."""
        cutoff = before.timestamp()
        if not self._root.is_dir():
            return
        for top in sorted(self._root.iterdir()):
            if not top.is_dir():
                continue
            for leaf in sorted(top.iterdir()):
                if not leaf.is_dir():
                    continue
                found: list[str] = []
                for entry in sorted(leaf.iterdir()):
                    try:
                        mtime = entry.stat().st_mtime
                    except FileNotFoundError:
                        continue
                    aside = _ASIDE.fullmatch(entry.name)
                    if aside is not None:
                        self._put_back(entry, leaf / aside[1])
                    elif entry.name.startswith(".tmp-") and mtime < cutoff:
                        entry.unlink(missing_ok=True)
                    elif _SHA256.fullmatch(entry.name) and mtime < cutoff:
                        found.append(entry.name)
                yield from found  # listed first: the caller deletes while we walk

    def discard(self, sha256: str, before: datetime) -> bool:
        """Delete the package unless written or touched since `before`; True if deleted."""
        final = self.path_of(sha256)
        aside = final.with_name(f".gc-{sha256}-{uuid.uuid4().hex}")
        try:
            if final.stat().st_mtime >= before.timestamp():
                return False
            os.rename(final, aside)  # from here a put finds nothing and writes anew
        except FileNotFoundError:
            return False
        if aside.stat().st_mtime >= before.timestamp():
            self._put_back(aside, final)  # touched by a put just before the rename
            return False
        aside.unlink()
        _fsync_dir(final.parent)
        return True

    @staticmethod
    def _put_back(aside: Path, final: Path) -> None:
        # The same bytes (content-addressed): replacing a file a put wrote meanwhile
        # changes nothing.
        os.replace(aside, final)
        _fsync_dir(final.parent)
