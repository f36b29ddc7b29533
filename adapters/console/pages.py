"""The console's page modules, each a `router(console)`: the list `mount` includes."""

from __future__ import annotations

from types import ModuleType

ALL: tuple[ModuleType, ...] = ()
