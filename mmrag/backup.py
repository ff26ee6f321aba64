"""Backup and restore of an embedded data directory while the service runs.

A backup is one consistent cut of the catalog, the FAISS record log and the tantivy BM25
index: for the few milliseconds-to-seconds the copy takes, every writer of the three is
paused by holding its own write lock (BM25 writer lock, then ``BEGIN IMMEDIATE`` on the
record log, then on the catalog; no writer holds one of these while waiting for another,
so the order cannot deadlock). Readers keep searching meanwhile. The two SQLite files are
copied with SQLite's online backup API, BM25 by copying its files, which is consistent
because every tantivy commit and merge happens under that writer lock.

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
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import make_url

from mmrag import __version__
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import DocumentRow, SegmentRow, WorkerRow, utcnow
from mmrag.domain import DocumentStatus
from mmrag.errors import BadInput, Conflict, NotFound
from mmrag.settings import Settings

FORMAT = 1
MANIFEST = "mmrag-backup.json"
CATALOG = "catalog.sqlite"
RECORDS = Path("index/faiss/records.sqlite")
SNAPSHOTS = Path("index/faiss/snapshots")
BM25 = Path("index/bm25")
_STATE = ("blobs", "index", CATALOG, "broker.sqlite")  # what restore --force replaces
_LOCK_FILES = (".mmrag-writer.lock", ".tantivy-writer.lock", ".tantivy-meta.lock")


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


def backup(settings: Settings, dest: Path) -> BackupReport:
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
        _cut(settings, source, partial)
        seq = _copy_snapshots(settings.data_dir, partial)
        copied, deleted = _copy_blobs(settings.blob_dir, partial)
        report = _report(partial, dest, seq, copied, deleted)
        (partial / MANIFEST).write_text(json.dumps(asdict(report), indent=2))
        os.sync()
        if dest.exists():
            dest.rmdir()
        partial.rename(dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return report


def _cut(settings: Settings, catalog: Path, out: Path) -> None:
    """Copy catalog, record log and BM25 while their writers are paused."""
    from index.bm25.tantivy_index import writer_lock

    records, bm25 = settings.data_dir / RECORDS, settings.data_dir / BM25
    with ExitStack() as paused:
        if bm25.is_dir():
            paused.enter_context(writer_lock(bm25))
        if records.is_file():
            paused.enter_context(_write_locked(records))
            _sqlite_copy(records, out / RECORDS)
        paused.enter_context(_write_locked(catalog))
        _sqlite_copy(catalog, out / CATALOG)
        if bm25.is_dir():
            shutil.copytree(bm25, out / BM25, ignore=shutil.ignore_patterns(*_LOCK_FILES))


@contextmanager
def _write_locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s write lock for a block: other writers wait, readers go on (WAL)."""
    with closing(sqlite3.connect(path, timeout=60, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite file with the online backup API (from a second connection: the
    backup never finishes on the connection that holds the write lock)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source, timeout=60)) as db, closing(sqlite3.connect(target)) as to:
        db.backup(to)


def _copy_snapshots(data_dir: Path, out: Path) -> int:
    """Copy the newest FAISS snapshot per shard not ahead of the copied log; return its seq."""
    if not (out / RECORDS).is_file():
        return 0
    with closing(sqlite3.connect(out / RECORDS)) as db:
        seq = int(db.execute("SELECT max(seq) FROM changes").fetchone()[0] or 0)
    newest: dict[str, tuple[int, Path]] = {}
    for path in (data_dir / SNAPSHOTS).glob("*.*.faiss"):
        key, snap_seq = path.name.split(".")[0], int(path.name.split(".")[1])
        if snap_seq <= seq and snap_seq > newest.get(key, (-1, path))[0]:
            newest[key] = (snap_seq, path)
    (out / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
    for _, path in newest.values():
        with suppress(FileNotFoundError):  # pruned by a searcher meanwhile: the log rebuilds
            shutil.copy2(path, out / SNAPSHOTS / path.name)
    return seq


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


def _report(out: Path, dest: Path, seq: int, blobs: int, deleted: int) -> BackupReport:
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
    records = 0
    if (out / RECORDS).is_file():
        with closing(sqlite3.connect(out / RECORDS)) as db:
            records = int(db.execute("SELECT count(*) FROM records").fetchone()[0])
    return BackupReport(
        path=str(dest), created_at=utcnow().isoformat(), mmrag_version=__version__,
        documents=docs, segments=segments, blobs=blobs, vector_records=records,
        vector_seq=seq, unfinished=unfinished or 0, deleted_during_backup=deleted,
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
    since = utcnow() - timedelta(seconds=3 * settings.sweep_interval_seconds + 5)
    db = Catalog(f"sqlite:///{catalog}", run_migrations=False)
    try:
        with db.session() as session:
            live = session.scalar(
                select(func.count()).select_from(WorkerRow).where(WorkerRow.last_seen > since)
            )
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
