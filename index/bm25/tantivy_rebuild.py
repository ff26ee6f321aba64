"""Rebuild the tantivy BM25 index from what the catalog holds, while the service runs.

The whole rebuild holds the writer lock that every writer takes (:func:`writer_lock`), so
workers indexing meanwhile wait and then add their documents on top: nothing is lost, and
because the caller reads the catalog only once the lock is held, a document a worker
indexed just before is read back too. Searchers keep the old state until the one commit at
the end, then see the new one (they reload when ``meta.json`` changes). A damaged index is
replaced whole: its files are removed and every collection is re-added.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import tantivy

from index.bm25.base import TermDoc
from index.bm25.tantivy_index import committed_writer, writer_lock
from index.bm25.tantivy_probe import index_damage
from index.bm25.tantivy_schema import WHITESPACE, build_schema, to_document, whitespace_analyzer
from index.tokenize import Tokenizer
from mmrag.atomic_file import write_atomic

_KEEP = {".mmrag-writer.lock", ".tantivy-writer.lock", ".tantivy-meta.lock"}
# Given the collections to read (None: all), yield their segments' term documents in batches.
ReadDocs = Callable[[Sequence[str] | None], Iterable[Sequence[TermDoc]]]


def rebuild_tantivy(
    path: Path, tokenizer: Tokenizer, collections: Sequence[str] | None, read: ReadDocs
) -> Sequence[str] | None:
    """Re-add ``collections`` (all when None, or when the index is damaged) from ``read``;
    return the collections rebuilt (None: all)."""
    path.mkdir(parents=True, exist_ok=True)
    with writer_lock(path):
        if index_damage(path) or _built_with(path) != tokenizer.name:
            _remove_index_files(path)
            collections = None
        index = tantivy.Index(build_schema(), path=str(path), reuse=True)
        index.register_tokenizer(WHITESPACE, whitespace_analyzer())
        with committed_writer(index) as writer:
            _replace(writer, tokenizer, collections, read)
        write_atomic(path / "mmrag-bm25.json", json.dumps({"tokenizer": tokenizer.name}).encode())
    return collections


def _replace(
    writer: tantivy.IndexWriter,
    tokenizer: Tokenizer,
    collections: Sequence[str] | None,
    read: ReadDocs,
) -> None:
    if collections is None:
        writer.delete_all_documents()
    for name in collections or ():
        writer.delete_documents_by_term("collection", name)
    for batch in read(collections):
        for doc in batch:
            writer.add_document(to_document(doc.payload, tokenizer(doc.text)))


def _built_with(path: Path) -> str | None:
    try:
        return str(json.loads((path / "mmrag-bm25.json").read_bytes())["tokenizer"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_index_files(path: Path) -> None:
    for child in path.iterdir():
        if child.name not in _KEEP and child.is_file():
            child.unlink()
