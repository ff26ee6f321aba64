"""BM25 on tantivy: segment-based, incremental adds and deletes, block-max WAND top k.

Several processes may write: each write takes an exclusive file lock, opens tantivy's
single writer, commits (an atomic rename of ``meta.json``) and closes it again. Readers in
other processes pick up a commit through tantivy's ``meta.json`` watcher within about a
second, with no reopen. Scores are Okapi BM25 as rank-bm25 computes them (k1=1.2, b=0.75,
negative IDF floored at ``EPSILON`` x mean IDF), see :mod:`index.bm25.scoring`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import tantivy
from tantivy import Occur, Query

from index.bm25 import scoring
from index.bm25.base import TermDoc, TermHit
from index.bm25.tantivy_schema import (
    BODY,
    WHITESPACE,
    build_schema,
    filter_clauses,
    to_document,
    whitespace_analyzer,
)
from index.filters import Filter
from index.tokenize import Tokenizer
from mmrag.atomic_file import write_atomic
from mmrag.errors import MmragError

log = logging.getLogger(__name__)

WRITER_HEAP = 64_000_000
_FLOOR_TTL_S = 30.0


@contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Hold the cross-process lock every writer of the index at ``path`` takes: while it is
    held the directory is a committed state that nobody changes (mmrag backup copies it)."""
    with open(path / ".mmrag-writer.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_marker(marker: Path) -> str | None:
    """Return the tokenizer name the index was built with; None when there is no marker.

    Older versions wrote the marker in place, so a full disk could leave it empty or cut
    short; such a marker is taken as absent (and rewritten with the current tokenizer)
    rather than failing every search and delete for good.
    """
    try:
        raw = marker.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return str(json.loads(raw)["tokenizer"])
    except (ValueError, KeyError, TypeError):
        log.warning("BM25 marker %s is unreadable (%d bytes): rewriting it", marker, len(raw))
        return None


class TantivyBM25:
    """BM25 index in one directory; open one instance per process and share it."""

    def __init__(self, path: Path, tokenizer: Tokenizer | None = None) -> None:
        self.path = path
        self.tokenizer = tokenizer or Tokenizer()
        path.mkdir(parents=True, exist_ok=True)
        self._thread_lock = threading.Lock()
        self._schema = build_schema()
        with self._exclusive():
            self._check_tokenizer()
            self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        self._index.register_tokenizer(WHITESPACE, whitespace_analyzer())
        self._floor: tuple[float, int, float] = (0.0, -1, 0.0)  # expires, num_docs, value
        self._seen_commit = self._commit_stamp()

    def _commit_stamp(self) -> int:
        try:
            return (self.path / "meta.json").stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def _fresh(self) -> None:
        """Reload the reader when another process committed (one stat per search), so a
        search right after a job finishes sees its documents."""
        stamp = self._commit_stamp()
        if stamp != self._seen_commit:
            self._seen_commit = stamp
            self._index.reload()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the cross-process writer lock (and the in-process one) for a block."""
        with self._thread_lock, writer_lock(self.path):
            yield

    def _check_tokenizer(self) -> None:
        marker = self.path / "mmrag-bm25.json"
        built_with = _read_marker(marker)
        if built_with is None:
            write_atomic(marker, json.dumps({"tokenizer": self.tokenizer.name}).encode())
            return
        if built_with != self.tokenizer.name:
            raise MmragError(
                f"BM25 index at {self.path} was built with tokenizer {built_with!r}, settings"
                f" ask for {self.tokenizer.name!r}: rebuild it with `mmrag reindex --bm25` or"
                " restore the MMRAG_BM25_* settings",
                code="bm25_tokenizer_mismatch",
            )

    @contextmanager
    def _writer(self) -> Iterator[tantivy.IndexWriter]:
        with self._exclusive(), committed_writer(self._index) as writer:
            yield writer
        self._index.reload()

    def add(self, docs: Sequence[TermDoc]) -> None:
        if not docs:
            return
        prepared = [to_document(d.payload, self.tokenizer(d.text)) for d in docs]
        with self._writer() as writer:
            for doc, prepared_doc in zip(docs, prepared, strict=True):
                writer.delete_documents_by_term("segment_id", doc.payload.segment_id)
                writer.add_document(prepared_doc)

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        if not document_ids:
            return
        with self._writer() as writer:
            for document_id in document_ids:
                writer.delete_documents_by_term("document_id", document_id)

    def search(self, query: str, k: int, where: Filter) -> list[TermHit]:
        terms = scoring.query_terms(self.tokenizer(query))
        if not terms or k <= 0:
            return []
        self._fresh()
        searcher = self._index.searcher()
        if searcher.num_docs == 0:
            return []
        text = Query.boolean_query(
            [(Occur.Should, self._weighted(searcher, t, n)) for t, n in terms.items()]
        )
        clauses = [(Occur.Must, text), *filter_clauses(self._index, self._schema, where)]
        found = searcher.search(Query.boolean_query(clauses), k, count=False).hits
        return [
            TermHit(str(searcher.doc(address).get_first("segment_id")), score)
            for score, address in found
        ]

    def _weighted(self, searcher: tantivy.Searcher, term: str, times: int) -> Query:
        """Return the term query, boosted so tantivy's IDF becomes the Okapi one."""
        n, df = searcher.num_docs, searcher.doc_freq(BODY, term)
        engine = scoring.lucene_idf(n, df) if df else 1.0
        okapi = scoring.floored_idf(n, df, self._idf_floor(searcher))
        return Query.boost_query(Query.term_query(self._schema, BODY, term), times * okapi / engine)

    def _idf_floor(self, searcher: tantivy.Searcher) -> float:
        """Return rank-bm25's floor, recomputed when the index changed, at most every 30 s."""
        expires, num_docs, value = self._floor
        now = time.monotonic()
        if num_docs == searcher.num_docs or now < expires:
            return value
        vocabulary = searcher.terms_with_prefix(BODY, "")
        value = scoring.EPSILON * scoring.mean_idf(searcher.num_docs, (c for _, c in vocabulary))
        self._floor = (now + _FLOOR_TTL_S, searcher.num_docs, value)
        return value

    def count(self) -> int:
        self._fresh()  # another process may have committed since: /readyz and /metrics read this
        return int(self._index.searcher().num_docs)

    def close(self) -> None:
        """Nothing to release: writers live only for the duration of one write."""


@contextmanager
def committed_writer(index: tantivy.Index) -> Iterator[tantivy.IndexWriter]:
    """Yield a writer of ``index``: committed on success, rolled back on any error, and its
    merges waited for either way."""
    writer = index.writer(WRITER_HEAP, 1)
    try:
        yield writer
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    finally:
        writer.wait_merging_threads()
