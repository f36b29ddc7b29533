"""The credential master key: 32 random bytes in `data_dir/node/credentials.key` (0600).

Kept outside the database on purpose (see `signing`): a database copy without this file
cannot be used to sign requests. Losing the file invalidates every issued credential (they
are re-issued); replacing it is how all credentials are rotated at once. Like the node's
signing key (`axis.trust.sign.ensure_node_identity`) it is made on first use.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from axis import errors
from axis.settings import Settings

KEY_BYTES = 32
FILE_NAME = "credentials.key"


def default_path(data_dir: Path) -> Path:
    return data_dir / "node" / FILE_NAME


def configured_path(settings: Settings) -> Path:
    return settings.rest.credentials_key or default_path(settings.data_dir)


def master_key(settings: Settings) -> bytes:
    """The node's master key as configured, made on first use."""
    return ensure_master_key(configured_path(settings))


def ensure_master_key(path: Path) -> bytes:
    """Read the key, creating it (mode 0600, never overwritten) when it is missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: link() fails when the name exists, so two
        # processes starting together agree on one key and nobody reads a half-written file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(KEY_BYTES))
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise errors.CONFIG_INVALID.error(f"credential key {path}: {exc}") from exc
    if len(key) != KEY_BYTES:
        raise errors.CONFIG_INVALID.error(
            f"credential key {path}: expected {KEY_BYTES} bytes, found {len(key)}")
    return key
