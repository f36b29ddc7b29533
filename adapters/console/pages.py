"""The console's page modules, each a `router(console)`: the list `mount` includes."""

from __future__ import annotations

from types import ModuleType

from adapters.console import (
    document,
    journal,
    messages,
    operations,
    overview,
    registry,
    tasks,
    tasks_report,
)

ALL: tuple[ModuleType, ...] = (
    overview,
    messages,
    document,
    journal,
    registry,
    operations,
    tasks,
    tasks_report,
)
