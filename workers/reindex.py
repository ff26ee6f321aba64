"""``mmrag reindex``: rebuild the BM25 index or a space's vectors from the catalog's segments.

Runs beside a live service. Each index is rebuilt the way its store allows without losing
what workers write meanwhile: tantivy under its writer lock (:mod:`index.bm25.tantivy_rebuild`),
a damaged FAISS log into a new log switched in atomically (:mod:`index.stores.faiss_rebuild`),
a healthy vector store (or Qdrant) in place, document by document, as the embed stage does.
A space enabled after documents were indexed is filled the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from index.bm25.base import TermDoc
from index.bm25.tantivy_rebuild import rebuild_tantivy
from index.spaces.base import Space, SpaceUnavailable
from index.stores.base import VectorRecord
from index.stores.faiss_probe import log_damage
from index.stores.faiss_rebuild import LogRebuild
from index.tokenize import Tokenizer
from ingest.base import ExtractOptions
from workers.embedding import batches, embed_segments
from workers.reindex_source import Loaded, document_ids, load
from workers.runtime import Runtime


class Progress(Protocol):
    def start(self, label: str, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


@dataclass
class Report:
    """What was rebuilt: index name -> documents read, and the notes worth printing."""

    documents: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def reindex_bm25(rt: Runtime, names: Sequence[str] | None, progress: Progress) -> Report:
    """Rebuild the BM25 entries of collections ``names`` (all when None)."""
    report = Report()

    def read(wanted: Sequence[str] | None) -> Iterator[Sequence[TermDoc]]:
        ids = document_ids(rt.catalog, wanted)
        progress.start("bm25", len(ids))
        report.documents["bm25"] = len(ids)
        for chunk in batches(ids, 64):
            yield [doc for id_ in chunk for doc in load(rt.catalog, id_).term_docs()]
            progress.advance(len(chunk))

    if rt.settings.vector_store == "qdrant":
        for docs in read(names):
            rt.bm25.add(docs)  # replaces by segment id, as the index stage does
        return report
    rebuilt = rebuild_tantivy(
        rt.settings.index_dir / "bm25", Tokenizer.from_settings(rt.settings), names, read
    )
    if rebuilt is None and names is not None:
        report.notes.append("the BM25 index was damaged: every collection was rebuilt")
    return report


def reindex_vectors(
    rt: Runtime, spaces: Sequence[str], names: Sequence[str] | None, progress: Progress
) -> Report:
    """Re-embed the segments of collections ``names`` (all when None) in ``spaces``."""
    root = rt.settings.index_dir / "faiss"
    if rt.settings.vector_store == "faiss" and log_damage(root):
        return _rebuild_log(rt, LogRebuild(root), progress)
    report = Report()
    for name in spaces:
        space = rt.spaces.get(name)
        rt.vectors.ensure_space(name, space.dim)
        ids = document_ids(rt.catalog, names)
        report.documents[name] = len(ids)
        _embed_all(rt, name, space, ids, progress, partial(rt.vectors.upsert, name))
    return report


def _rebuild_log(rt: Runtime, rebuild: LogRebuild, progress: Progress) -> Report:
    """Re-embed every collection in every enabled space into a new log; switch it in."""
    report = Report(notes=["the vector record log was damaged: every space and collection "
                           "was re-embedded into a new log"])  # fmt: skip
    spaces = _available_spaces(rt, report)
    ids = document_ids(rt.catalog, None)
    try:
        _fill(rt, rebuild, spaces, ids, progress)
        report.documents = dict.fromkeys(spaces, len(ids))

        def catch_up() -> None:  # documents indexed or deleted while we embedded
            now = document_ids(rt.catalog, None)
            rebuild.delete_documents(sorted(set(ids) - set(now)))
            _fill(rt, rebuild, spaces, sorted(set(now) - set(ids)), progress)

        rebuild.switch(catch_up)
    except BaseException:
        rebuild.abandon()
        raise
    return report


def _available_spaces(rt: Runtime, report: Report) -> dict[str, Space]:
    """Return the configured spaces that load; note why any other is left empty."""
    spaces: dict[str, Space] = {}
    for space_name in rt.settings.spaces:
        try:
            spaces[space_name] = rt.spaces.get(space_name)
        except SpaceUnavailable as exc:
            report.notes.append(f"space {space_name} left empty: {exc.message}")
    return spaces


def _fill(
    rt: Runtime,
    rebuild: LogRebuild,
    spaces: dict[str, Space],
    ids: Sequence[str],
    progress: Progress,
) -> None:
    for name, space in spaces.items():
        _embed_all(rt, name, space, ids, progress, _writer(rebuild, name, space.dim))


def _writer(rebuild: LogRebuild, name: str, dim: int) -> Callable[[list[VectorRecord]], None]:
    return lambda records: rebuild.upsert(name, dim, records)


def _embed_all(
    rt: Runtime,
    name: str,
    space: Space,
    ids: Sequence[str],
    progress: Progress,
    write: Callable[[list[VectorRecord]], None],
) -> None:
    progress.start(name, len(ids))
    options = ExtractOptions.from_settings(rt.settings)
    for id_ in ids:
        loaded: Loaded = load(rt.catalog, id_)
        for records in embed_segments(
            name, space, loaded.segments, loaded.payloads,
            batch_size=rt.settings.embed_batch_size, media_path=rt.blobs.path, options=options,
            source=rt.blobs.path(loaded.blob_key),
        ):  # fmt: skip
            write(records)
        progress.advance(1)
