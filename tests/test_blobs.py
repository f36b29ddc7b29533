"""FileBlobs: content-addressed, stored once, durable by rename, checked on every read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from adapters.store.blobs import CHUNK, FileBlobs
from axis.errors import NodeFault
from axis.route.ports import PackageBlobs

RAW = "<edXMLEnvelope>Văn bản</edXMLEnvelope>".encode()
SHA = hashlib.sha256(RAW).hexdigest()


def test_put_get_exists(tmp_path: Path) -> None:
    blobs: PackageBlobs = FileBlobs(tmp_path / "blobs")
    assert blobs.exists(SHA) is False
    assert blobs.put(RAW) == SHA
    assert blobs.exists(SHA) is True
    assert blobs.get(SHA) == RAW
    path = tmp_path / "blobs" / SHA[:2] / SHA[2:4] / SHA
    assert path.read_bytes() == RAW
    assert [p.name for p in path.parent.iterdir()] == [SHA]  # no temporary file left


def test_put_is_idempotent(tmp_path: Path) -> None:
    blobs = FileBlobs(tmp_path)
    blobs.put(RAW)
    path = blobs.path_of(SHA)
    before = path.stat()
    assert blobs.put(RAW) == SHA
    after = path.stat()
    # Not rewritten (same file); its time is refreshed, so that the orphan collector
    # never takes bytes being accepted again for stale (axis/route/orphans.py).
    assert after.st_ino == before.st_ino and after.st_mtime_ns >= before.st_mtime_ns


def test_empty_and_large_packages(tmp_path: Path) -> None:
    blobs = FileBlobs(tmp_path)
    big = os.urandom(3 * 1024 * 1024 + 7)
    for raw in (b"", big):
        assert blobs.get(blobs.put(raw)) == raw


def test_missing_package_is_a_coded_node_fault(tmp_path: Path) -> None:
    with pytest.raises(NodeFault) as caught:
        FileBlobs(tmp_path).get("0" * 64)
    assert caught.value.code.id == "node.package_missing"


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "ab", SHA + "0", ""])
def test_only_digests_become_paths(tmp_path: Path, bad: str) -> None:
    blobs = FileBlobs(tmp_path)
    assert blobs.exists(bad) is False
    with pytest.raises(NodeFault) as caught:
        blobs.get(bad)
    assert caught.value.code.id == "node.package_missing"


def test_corruption_is_detected_on_read_and_healed_by_a_new_put(tmp_path: Path) -> None:
    blobs = FileBlobs(tmp_path)
    blobs.put(RAW)
    path = blobs.path_of(SHA)
    path.write_bytes(RAW.replace(b"V", b"W"))  # bit rot, or an edit on disk
    with pytest.raises(NodeFault) as caught:
        blobs.get(SHA)
    assert caught.value.code.id == "node.package_corrupt"
    assert blobs.put(RAW) == SHA  # the sender resubmits: the good bytes are written back
    assert blobs.get(SHA) == RAW


def test_unwritable_store_is_store_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    root.write_bytes(b"a file where the directory should be")
    with pytest.raises(NodeFault) as caught:
        FileBlobs(root).put(RAW)
    assert caught.value.code.id == "node.store_unavailable"


def test_content_is_checked_before_it_is_handed_out_and_read_in_chunks(tmp_path: Path) -> None:
    """getEdoc streams `content`: its digest must be checked before the first byte is
    sent (a corrupt copy is a coded fault, not a truncated response)."""
    blobs = FileBlobs(tmp_path)
    big = os.urandom(3 * CHUNK + 5)
    content = blobs.content(blobs.put(big))
    assert content.size == len(big)
    parts = list(content.chunks())
    assert [len(p) for p in parts] == [CHUNK, CHUNK, CHUNK, 5] and b"".join(parts) == big
    assert content.read() == big  # read again, from the file
    path = blobs.path_of(content.sha256)
    path.write_bytes(big[:-1] + bytes([big[-1] ^ 1]))
    with pytest.raises(NodeFault) as caught:
        blobs.content(content.sha256)
    assert caught.value.code.id == "node.package_corrupt"
    path.unlink()
    with pytest.raises(NodeFault) as caught:
        blobs.content(content.sha256)
    assert caught.value.code.id == "node.package_missing"
