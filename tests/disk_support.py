"""A real full disk for fault tests: a small tmpfs mounted over a directory and filled.

Needs the right to mount (root here and in CI); elsewhere the test skips, and fails when
CI=true (service_support.missing_service), like a missing RabbitMQ.

    with full_disk(directory) as filler:   # mounted and full at once
        ...; filler.unlink()               # space again

    with tmpfs(directory, "64m") as mount: # mounted before a node process starts ...
        ...; filler = fill(mount)          # ... and filled while it runs
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service_support import missing_service


@contextmanager
def tmpfs(directory: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of `size` over `directory` (its files copied in) and yield it.
    Unmounted after; what was written meanwhile is copied back to the directory below.
    Whoever writes there must have stopped by then: a file written between the copy and
    the unmount would be lost with the tmpfs."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as saved_dir:
        saved = Path(saved_dir) / "content"
        shutil.copytree(directory, saved)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(directory)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            missing_service(f"cannot mount a tmpfs to fill: {done.stderr.strip()}")
        try:
            shutil.copytree(saved, directory, dirs_exist_ok=True)
            yield directory
        finally:
            shutil.copytree(directory, saved, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".filler"))
            subprocess.run(["umount", "-l", str(directory)], check=True)
            shutil.copytree(saved, directory, dirs_exist_ok=True)


def fill(directory: Path) -> Path:
    """Fill the file system of `directory` to the last byte with one file, returned:
    unlink it to free the space. (Space another process frees later, a failed write
    unlinking its temporary file, is free again: as on a real disk.)"""
    filler = directory / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = 1 << 16
        while chunk:  # down to single bytes: nothing is left over
            try:
                os.write(fd, b"\0" * chunk)
            except OSError:
                chunk //= 2
    finally:
        os.close(fd)
    return filler


@contextmanager
def full_disk(directory: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of `size` over `directory` (its files copied in), fill it to the
    last byte, and yield the filler file: unlink it to free the space. Unmounted after;
    what was written meanwhile is copied back to the directory below."""
    with tmpfs(directory, size) as mounted:
        yield fill(mounted)
