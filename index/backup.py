"""``mmrag backup`` over the embedded stores that ``index/`` owns (FAISS and tantivy).

The kernel (:mod:`mmrag.backup`) orchestrates the cut and copies the catalog and blobs;
each store copies itself. Restore copies the index folder back as the backup holds it.
"""

from __future__ import annotations

from pathlib import Path

from index.bm25.tantivy_backup import TantivyBackup
from index.stores.faiss_backup import FaissBackup
from mmrag import backup as kernel
from mmrag.backup import MANIFEST, BackupReport, StoreBackup
from mmrag.settings import Settings

__all__ = ["MANIFEST", "backup", "embedded_stores", "restore"]


def embedded_stores(settings: Settings) -> list[StoreBackup]:
    """Return the stores' parts of a backup, in the order their write locks are taken."""
    return [TantivyBackup(settings.data_dir), FaissBackup(settings.data_dir)]


def backup(settings: Settings, dest: Path) -> BackupReport:
    """Write a consistent backup of the running data directory to ``dest`` (new or empty)."""
    return kernel.backup(settings, dest, embedded_stores(settings))


def restore(settings: Settings, source: Path, *, force: bool = False) -> BackupReport:
    """Restore the backup at ``source`` into the configured (empty) data directory."""
    return kernel.restore(settings, source, force=force)
