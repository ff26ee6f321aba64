"""Backup and restore of an embedded data directory while the service runs.

A backup is one consistent cut of the catalog and the embedded stores (the FAISS record log
and the tantivy BM25 index, each a :class:`StoreBackup` that ``index/`` provides): for the
few milliseconds-to-seconds the copy takes, every writer is paused by holding its own write
lock (each store's, in the order given, then ``BEGIN IMMEDIATE`` on the catalog; no writer
holds one of these while waiting for another, so the order cannot deadlock). Readers keep
searching meanwhile. SQLite files are copied with SQLite's online backup API, BM25 by
copying its files, which is consistent because every tantivy commit happens under its lock.

Why this cut is consistent: the pipeline writes an index only for a document the catalog
already holds, and marks the document indexed only after its index writes; deletion marks
the document deleted in the catalog before it purges the indexes. So at any instant
between writes the indexes hold nothing the catalog does not know, every indexed document
is fully in the indexes, and a document caught mid-stage is queued or processing in the
catalog: restore re-queues it and the sweeper re-runs its (idempotent) stage.

Blobs are content-addressed and never change, so they are copied after the cut: exactly
the keys the backed-up catalog references. A blob deleted in between belonged to a
document deleted after the cut; the backup records that document as deleted, and the
restored instance's sweeper finishes the deletion. FAISS snapshots are only a cache of the
record log; the newest one per shard that is not ahead of the backed-up log is kept.

The broker is not backed up: the catalog is the truth, and the restored instance's first
sweep re-announces every unfinished document.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import make_url

from mmrag import __version__
from mmrag.catalog import heartbeats
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import DocumentRow, SegmentRow, WorkerRow, utcnow
from mmrag.domain import DocumentStatus
from mmrag.errors import BadInput, Conflict, NotFound
from mmrag.settings import Settings

FORMAT = 1
MANIFEST = "mmrag-backup.json"
CATALOG = "catalog.sqlite"
_STATE = ("blobs", "index", CATALOG, "broker.sqlite")  # what restore --force replaces


class StoreBackup(Protocol):
    """An embedded store's part of a backup; ``out`` mirrors the data directory's layout."""

    def paused(self) -> AbstractContextManager[None]:
        """Hold the store's write lock for a block: its writers wait, readers go on."""
        ...

    def copy_paused(self, out: Path) -> None:
        """Copy the store's state into ``out`` (called while paused, after the catalog)."""
        ...

    def copy_after(self, out: Path) -> None:
        """Copy caches that match what :meth:`copy_paused` wrote (called after the cut)."""
        ...

    def figures(self, out: Path) -> Mapping[str, int]:
        """Return report figures of the copy in ``out`` (``vector_records``, ``vector_seq``)."""
        ...


@dataclass(frozen=True)
class BackupReport:
    path: str
    created_at: str
    mmrag_version: str
    documents: int
    segments: int
    blobs: int
    vector_records: int
    vector_seq: int
    unfinished: int  # documents mid-ingestion at the cut: restore re-queues them
    deleted_during_backup: int
    format: int = FORMAT


def catalog_path(settings: Settings) -> Path:
    """Return the embedded catalog's file; refuse server catalogs and stores."""
    url = make_url(settings.resolved_catalog_url)
    if url.get_backend_name() != "sqlite":
        raise BadInput(
            f"the catalog is on {url.get_backend_name()} ({url.render_as_string()}): "
            "mmrag backup handles embedded (SQLite) data directories only; back the catalog "
            "up with pg_dump and the vector store with its own snapshots",
            code="not_embedded",
        )
    if settings.vector_store != "faiss":
        raise BadInput(
            f"vectors and BM25 live in {settings.vector_store}: back them up with Qdrant "
            "snapshots; mmrag backup handles the embedded FAISS + tantivy stores only",
            code="not_embedded",
        )
    if not url.database or url.database == ":memory:":
        raise BadInput("an in-memory catalog cannot be backed up", code="not_embedded")
    return Path(url.database)


# -- backup ------------------------------------------------------------------------------


def backup(settings: Settings, dest: Path, stores: Sequence[StoreBackup]) -> BackupReport:
    """Write a consistent backup of the running data directory to ``dest`` (new or empty)."""
    source = catalog_path(settings)
    if not source.is_file():
        raise NotFound(f"no catalog at {source}: nothing to back up", code="nothing_to_back_up")
    dest = dest.expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Conflict(f"{dest} exists and is not an empty directory", code="backup_exists")
    partial = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    partial.mkdir(parents=True)
    try:
        _cut(source, partial, stores)
        for store in stores:
            store.copy_after(partial)
        copied, deleted = _copy_blobs(settings.blob_dir, partial)
        figures: dict[str, int] = {}
        for store in stores:
            for name, value in store.figures(partial).items():
                figures[name] = figures.get(name, 0) + value
        report = _report(partial, dest, figures, copied, deleted)
        (partial / MANIFEST).write_text(json.dumps(asdict(report), indent=2))
        os.sync()
        if dest.exists():
            dest.rmdir()
        partial.rename(dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return report


def _cut(catalog: Path, out: Path, stores: Sequence[StoreBackup]) -> None:
    """Copy the catalog and every store while all their writers are paused."""
    with ExitStack() as paused:
        for store in stores:
            paused.enter_context(store.paused())
        paused.enter_context(write_locked(catalog))
        sqlite_copy(catalog, out / CATALOG)
        for store in stores:
            store.copy_paused(out)


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s write lock for a block: other writers wait, readers go on (WAL)."""
    with closing(sqlite3.connect(path, timeout=60, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite file with the online backup API (from a second connection: the
    backup never finishes on the connection that holds the write lock)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source, timeout=60)) as db, closing(sqlite3.connect(target)) as to:
        db.backup(to)


def _copy_blobs(blob_dir: Path, out: Path) -> tuple[int, int]:
    """Copy every blob the backed-up catalog references; return (copied, documents deleted).

    A blob that vanished since the cut was deleted with its document after the cut; that
    document is marked deleted in the backup so the restored sweeper purges its index entries.
    """
    catalog = Catalog(f"sqlite:///{out / CATALOG}", run_migrations=False)
    try:
        with catalog.session() as session:
            live = DocumentRow.status != DocumentStatus.DELETED
            media = select(SegmentRow.media_key).join(
                DocumentRow, DocumentRow.id == SegmentRow.document_id
            )
            queries = (
                select(DocumentRow.sha256).where(live),
                select(DocumentRow.thumbnail_key).where(live),
                media.where(live),
            )
            keys = {key for query in queries for key in session.scalars(query) if key}
        missing = {key for key in sorted(keys) if not _copy_blob(blob_dir, out / "blobs", key)}
        deleted = _mark_deleted(catalog, missing) if missing else 0
    finally:
        catalog.dispose()
    return len(keys) - len(missing), deleted


def _copy_blob(blob_dir: Path, out: Path, key: str) -> bool:
    relative = Path(key[:2], key[2:4], key)
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy2(blob_dir / relative, out / relative)
    except FileNotFoundError:
        return False
    return True


def _mark_deleted(catalog: Catalog, keys: set[str]) -> int:
    with catalog.session() as session:
        by_media = select(SegmentRow.document_id).where(SegmentRow.media_key.in_(keys))
        result = session.execute(
            update(DocumentRow)
            .where(
                or_(
                    DocumentRow.sha256.in_(keys),
                    DocumentRow.thumbnail_key.in_(keys),
                    DocumentRow.id.in_(by_media),
                )
            )
            .values(status=DocumentStatus.DELETED, lease_owner=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _report(
    out: Path, dest: Path, figures: Mapping[str, int], blobs: int, deleted: int
) -> BackupReport:
    catalog = Catalog(f"sqlite:///{out / CATALOG}", run_migrations=False)
    try:
        with catalog.session() as session:
            docs = session.scalar(select(func.count()).select_from(DocumentRow)) or 0
            segments = session.scalar(select(func.count()).select_from(SegmentRow)) or 0
            unfinished = session.scalar(
                select(func.count())
                .select_from(DocumentRow)
                .where(DocumentRow.status.in_([DocumentStatus.QUEUED, DocumentStatus.PROCESSING]))
            )
    finally:
        catalog.dispose()
    return BackupReport(
        path=str(dest), created_at=utcnow().isoformat(), mmrag_version=__version__,
        documents=docs, segments=segments, blobs=blobs,
        vector_records=figures.get("vector_records", 0), vector_seq=figures.get("vector_seq", 0),
        unfinished=unfinished or 0, deleted_during_backup=deleted,
    )  # fmt: skip


# -- restore -----------------------------------------------------------------------------


def read_manifest(source: Path) -> BackupReport:
    """Return a backup's manifest; refuse a directory that is not a complete backup."""
    try:
        raw = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError):
        raise BadInput(
            f"{source} is not an mmrag backup (no readable {MANIFEST})", code="not_a_backup"
        ) from None
    if raw.get("format") != FORMAT:
        raise BadInput(f"backup format {raw.get('format')!r} is not {FORMAT}", code="not_a_backup")
    return BackupReport(**raw)


def restore(settings: Settings, source: Path, *, force: bool = False) -> BackupReport:
    """Restore the backup at ``source`` into the configured (empty) data directory.

    ``force`` replaces the catalog, blobs, indexes and broker queue of a non-empty data
    directory (other files there are left alone); a service still running on it is refused.
    """
    target = catalog_path(settings)
    manifest = read_manifest(source.expanduser().resolve())
    data_dir = settings.data_dir
    if target.exists() or (data_dir.exists() and any(data_dir.iterdir())):
        if not force:
            raise Conflict(
                f"data directory {data_dir} is not empty: restore into an empty one, or pass "
                "--force to replace its catalog, blobs and indexes",
                code="data_dir_not_empty",
            )
        _refuse_live_service(settings, target)
        _remove_state(data_dir, target)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("blobs", "index"):
        if (source / name).is_dir():
            shutil.copytree(source / name, data_dir / name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.restoring")
    shutil.copy2(source / CATALOG, partial)
    _requeue_unfinished(partial)
    os.sync()
    partial.rename(target)  # last: a catalog in place means a complete data directory
    return manifest


def _refuse_live_service(settings: Settings, catalog: Path) -> None:
    if not catalog.is_file():
        return
    db = Catalog(f"sqlite:///{catalog}", run_migrations=False)
    try:
        with db.session() as session:
            live = heartbeats.live_workers(session, settings.sweep_interval_seconds)
    finally:
        db.dispose()
    if live:
        raise Conflict(
            f"{live} worker(s) of {settings.data_dir} sent a heartbeat recently: stop the "
            "service and its workers before restoring over it",
            code="service_running",
        )


def _remove_state(data_dir: Path, catalog: Path) -> None:
    for name in _STATE:
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path)
    for base in (catalog, data_dir / "broker.sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)


def _requeue_unfinished(catalog_file: Path) -> None:
    """Queue every document caught mid-stage for the first sweep; forget old workers."""
    catalog = Catalog(f"sqlite:///{catalog_file}")  # migrates a backup from an older version
    try:
        with catalog.session() as session:
            session.execute(
                update(DocumentRow)
                .where(DocumentRow.status.in_([DocumentStatus.QUEUED, DocumentStatus.PROCESSING]))
                .values(
                    status=DocumentStatus.QUEUED,
                    lease_owner=None,
                    lease_expires_at=None,
                    enqueued_at=datetime(2000, 1, 1, tzinfo=UTC),
                )
            )
            session.execute(delete(WorkerRow))
    finally:
        catalog.dispose()
    with closing(sqlite3.connect(catalog_file)) as db:  # fold the WAL in before the rename
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
