from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from mmrag.blobs import BlobStore
from mmrag.errors import BadInput, NotFound, PayloadTooLarge


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    key = store.put_bytes(b"hello")
    assert key == hashlib.sha256(b"hello").hexdigest()
    assert store.put_bytes(b"hello") == key
    with store.open(key) as f:
        assert f.read() == b"hello"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_stream_over_the_limit_leaves_nothing_behind(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(PayloadTooLarge):
        store.put_stream(io.BytesIO(b"x" * 5000), max_bytes=4096)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_malformed_and_missing_keys(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(BadInput):
        store.path("../../etc/passwd")
    with pytest.raises(NotFound):
        store.open("0" * 64)


def test_delete_removes_only_that_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    a, b = store.put_bytes(b"a"), store.put_bytes(b"b")
    store.delete(a)
    assert not store.exists(a) and store.exists(b)
