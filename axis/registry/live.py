"""The registry snapshot a process serves from, refreshed when the registry's version moves.

Every write to the registry bumps one version number in the same transaction
(`RegistryStore`). A process keeps the last snapshot it built and asks the database for
that number (one single-row read by primary key) before it trusts the snapshot again:

- `current()` asks at most once every `max_age` seconds (default 0.5 s): routing, policy,
  signature bindings and listings read it, and a change made by another process (the
  admin API of another server, `axis registry …` on the command line) reaches them within
  `max_age` plus one rebuild;
- `fresh()` asks now: the credential check of every agency request goes through it, so
  a revoked credential is refused on the very next request in every process (Art. 22:
  a compromised credential is cut off at once) at the price of that one read.

When the number moved, one thread rebuilds the snapshot from the database in one read and
swaps it in whole; readers never see a half-built registry and never wait on a lock
unless they asked for `fresh()` while the version moved.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from axis.registry.snapshot import RegistrySnapshot

MAX_AGE_SECONDS = 0.5


class SnapshotSource(Protocol):
    """What the live snapshot needs of the store (`RegistryStore` answers both)."""

    def version(self) -> int:
        """The registry's version now: one tiny read."""
        ...

    def snapshot(self) -> RegistrySnapshot:
        """Everything, as one consistent read, labelled with the version it was read at."""
        ...


class LiveSnapshot:
    def __init__(
        self, source: SnapshotSource, *, max_age: float = MAX_AGE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_age < 0:
            raise ValueError("max_age must not be negative")
        self._source = source
        self._max_age = max_age
        self._monotonic = monotonic
        self._snap: RegistrySnapshot | None = None
        self._checked = -math.inf  # monotonic instant of the last version check
        # Bumped by `invalidate`: a check that began before a local write must not mark
        # the snapshot as checked after it (read-your-writes within the process).
        self._generation = 0
        self._rebuild = threading.Lock()

    def current(self) -> RegistrySnapshot:
        """A snapshot whose version was confirmed at most `max_age` seconds ago."""
        snap = self._snap
        if snap is not None and self._monotonic() - self._checked < self._max_age:
            return snap
        return self.fresh()

    def fresh(self) -> RegistrySnapshot:
        """A snapshot at least as new as the registry's version read now."""
        generation, started = self._generation, self._monotonic()
        version = self._source.version()
        snap = self._snap
        if snap is None or snap.version < version:
            with self._rebuild:
                snap = self._snap
                if snap is None or snap.version < version:
                    snap = self._source.snapshot()
                    self._snap = snap
        if generation == self._generation:
            self._checked = max(self._checked, started)
        return snap

    def invalidate(self) -> None:
        """This process wrote to the registry: the next read checks the version."""
        self._generation += 1
        self._checked = -math.inf
