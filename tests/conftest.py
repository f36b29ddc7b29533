"""Shared pytest fixtures (small and generic: append yours below)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from exchange_support import TestNode

# The browser fixtures (`browser`, `page`) of the console's tests.
pytest_plugins = ["console_support"]

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO_ROOT.parent / "shared" / "fixtures" / "edxml"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real edXML packages in ../shared/fixtures/edxml (read-only)."""
    if not FIXTURES_DIR.is_dir():
        pytest.fail(f"the real edXML fixtures are missing: {FIXTURES_DIR}")
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def pki_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One test CA for the session: (directory with agency keys and certificates, anchors)."""
    from exchange_support import make_pki

    d = tmp_path_factory.mktemp("pki")
    return d, make_pki(d)


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    """A real node (SQLite, in-process broker, seeded registry, fixed clock); test files
    that need another kind of node override this fixture."""
    from exchange_support import start_node

    node = start_node(tmp_path, *pki_dirs)
    yield node
    node.node.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leave the machine's RabbitMQ as the session found it: whatever queue or exchange a
    test left behind (a killed child, a queue another process declared) is deleted."""
    import os

    if hasattr(session.config, "workerinput") or os.environ.get("AXIS_TEST_KEEP_TOPOLOGY"):
        return  # an xdist worker (the controller sweeps once), or asked to keep it
    from service_support import sweep_test_topology

    try:
        swept = sweep_test_topology()
    except Exception as exc:  # never fail a finished run over the sweep itself
        print(f"\nRabbitMQ sweep failed: {exc}")
        return
    if swept:
        print(f"\nRabbitMQ: {swept} queues and exchanges left by tests deleted")
