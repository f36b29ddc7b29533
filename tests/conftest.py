"""Shared pytest fixtures (small and generic: append yours below)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
