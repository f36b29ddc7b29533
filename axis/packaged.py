"""The files shipped inside the package (`axis/_data/`): the node's own XSDs and WSDL, and
the default configuration (settings file, calendar, sample registry, empty anchors dir).

Found through `importlib.resources`, so an installed wheel reads its own copy wherever
it is installed; an operator's settings (`AXIS_CONFIG`, `trust.anchors_dir`,
`clock.calendar_file`, `axis registry seed FILE`) point elsewhere to override them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _data_root() -> Path:
    root = resources.files("axis") / "_data"
    # lxml resolves the XSDs' xs:include and the anchors are read as a directory: both need
    # real files, which every pip install (wheel or editable) gives; a zipped import would
    # not, and then the node must not start half-configured.
    if not isinstance(root, Path) or not root.is_dir():
        raise RuntimeError(f"axis package data not found on the file system: {root}")
    return root


DATA_ROOT = _data_root()
SCHEMA_DIR = DATA_ROOT / "schemas"
WSDL_FILE = SCHEMA_DIR / "axis.wsdl"
CONFIG_DIR = DATA_ROOT / "config"
DEFAULT_CONFIG_FILE = CONFIG_DIR / "axis.toml"
DEFAULT_CALENDAR_FILE = CONFIG_DIR / "calendar.toml"
DEFAULT_ANCHORS_DIR = CONFIG_DIR / "trust"
SEED_REGISTRY_FILE = CONFIG_DIR / "registry" / "langson-h37.json"
