"""Replace a damaged FAISS record log by a new one filled from the catalog, while it runs.

The new log is filled under a new name (no lock held: the damaged log is useless to
searchers anyway). Then, holding the damaged log's write lock where SQLite still grants
it, the caller catches up on what changed in the catalog meanwhile, and ``CURRENT`` is
switched: writers that waited on the old lock find the switch once they hold it and write
to the new log (:class:`RecordLog`), searchers load the new log at their next search.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from index.stores.base import VectorRecord
from index.stores.checks import unit_rows
from index.stores.faiss_generation import Generation, current, new_generation, switch
from index.stores.record_log import RecordLog


class LogRebuild:
    """A record log being filled beside the current one, then made current."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generation = new_generation()
        self.log = RecordLog(root, pinned=self.generation)
        self._dims: dict[str, int] = {}

    def upsert(self, space: str, dim: int, records: Sequence[VectorRecord]) -> None:
        if space not in self._dims:
            self._dims[space] = self.log.declare_space(space, dim)
        rows = unit_rows(space, self._dims[space], records)
        if len(rows):
            self.log.upsert(space, [r.payload for r in records], rows)

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        if document_ids:
            self.log.delete_documents(document_ids)

    def switch(self, catch_up: Callable[[], None]) -> None:
        """Run ``catch_up`` while writers of the old log wait, then make this log current."""
        old = current(self.root)
        with _write_locked(self.root / old.records):
            catch_up()
            self.log.close()
            switch(self.root, self.generation)
        _remove(self.root, old)

    def abandon(self) -> None:
        """Remove the unfinished log (the old one stays current)."""
        self.log.close()
        _remove(self.root, self.generation)


@contextmanager
def _write_locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s write lock for the block, unless the file is too damaged to lock."""
    if not path.is_file():
        yield
        return
    with closing(sqlite3.connect(path, timeout=60, isolation_level=None)) as db:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            raise  # locked past the timeout: not damage
        except sqlite3.DatabaseError:
            yield  # SQLite cannot even lock it: no writer can write to it either
            return
        try:
            yield
        finally:
            db.execute("ROLLBACK")


def _remove(root: Path, generation: Generation) -> None:
    for path in generation.files(root):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
