"""Content-addressed blob store on local disk with atomic writes.

A blob's key is the sha256 of its bytes; it lives at ``root/ab/cd/<key>``. Writes go to a
temporary file in the same directory, are fsynced and renamed into place, so a crash never
leaves a half-written blob under a valid key.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from mmrag.errors import BadInput, InsufficientStorage, NotFound, PayloadTooLarge

_KEY = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


class BlobStore:
    """Stores bytes under their sha256; put is idempotent."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = root / "tmp"
        self._tmp.mkdir(exist_ok=True)

    def path(self, key: str) -> Path:
        """Return where blob ``key`` lives; raise BadInput for a malformed key."""
        if not _KEY.match(key):
            raise BadInput(f"malformed blob key {key[:80]!r}", code="bad_media_key")
        return self.root / key[:2] / key[2:4] / key

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            raise NotFound(f"no media with key {key}", code="media_not_found") from None

    def put_bytes(self, data: bytes, *, durable: bool = True) -> str:
        """Store ``data``; return its key.

        ``durable=False`` skips the per-file fsync for bulk writes of derived media; call
        :meth:`sync` once before anything that references them is committed.
        """
        return self.put_chunks([data], durable=durable)

    def sync(self) -> None:
        """Flush every blob written so far to disk (one filesystem sync, not one per file)."""
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _libc_syncfs is None or _libc_syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def free_bytes(self) -> int:
        """Bytes free on the volume that holds the blobs (and, embedded, everything else)."""
        return shutil.disk_usage(self.root).free

    def ensure_room(self, min_free: int) -> None:
        """Raise :class:`InsufficientStorage` when less than ``min_free`` bytes are free.

        Writers check before they start, so that the headroom left still lets the catalog and
        indexes record the refusal (SQLite cannot even fail a row on a full disk).
        """
        free = self.free_bytes()
        if free < min_free:
            raise InsufficientStorage(
                f"no space left on the data volume: {free // 1024**2} MiB free, below the "
                f"headroom MMRAG_MIN_FREE_BYTES={min_free}; free space and upload the file again"
            )

    def put_stream(self, stream: BinaryIO, max_bytes: int | None = None) -> tuple[str, int]:
        """Store a stream; return (key, size). Raise PayloadTooLarge past ``max_bytes``."""
        size = 0

        def chunks() -> Iterable[bytes]:
            nonlocal size
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise PayloadTooLarge(f"file is larger than the limit of {max_bytes} bytes")
                yield chunk

        return self.put_chunks(chunks()), size

    def put_chunks(self, chunks: Iterable[bytes], *, durable: bool = True) -> str:
        """Write chunks to a temp file, fsync (if ``durable``), and rename to their hash."""
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as tmp:
                for chunk in chunks:
                    digest.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                if durable:
                    os.fsync(tmp.fileno())
            key = digest.hexdigest()
            target = self.path(key)
            if target.exists():
                os.unlink(tmp_name)
                return key
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
            if durable:
                _fsync_dir(target.parent)
            return key
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def sweep_tmp(self, max_age_s: float) -> int:
        """Remove temp files untouched for ``max_age_s`` (left by killed writers); return count.

        A write in progress touches its file with every chunk, so only abandoned ones go.
        """
        cutoff, removed = time.time() - max_age_s, 0
        for entry in os.scandir(self._tmp):
            with contextlib.suppress(FileNotFoundError):  # a writer renamed it meanwhile
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        return removed

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def writable(self) -> bool:
        return os.access(self._tmp, os.W_OK)


def _find_syncfs() -> Callable[[int], int] | None:
    try:
        syncfs: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux
        return None
    return syncfs


_libc_syncfs = _find_syncfs()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
