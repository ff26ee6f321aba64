"""BM25 term indexes: tantivy embedded (default), Qdrant sparse vectors, SQLite FTS5."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from index.bm25.base import BM25Index
from index.tokenize import Tokenizer

if TYPE_CHECKING:
    from pathlib import Path

    from qdrant_client import QdrantClient


class BM25Settings(Protocol):
    @property
    def vector_store(self) -> str: ...

    bm25_stemming: bool
    bm25_stopwords: bool

    @property
    def index_dir(self) -> Path: ...


def open_bm25(settings: BM25Settings, qdrant: QdrantClient | None = None) -> BM25Index:
    """Return the BM25 index the settings ask for (Qdrant mode shares the store's client)."""
    tokenizer = Tokenizer.from_settings(settings)
    if settings.vector_store == "qdrant":
        if qdrant is None:
            raise ValueError("Qdrant mode needs the vector store's QdrantClient")
        from index.bm25.qdrant_sparse import QdrantBM25

        return QdrantBM25(qdrant, tokenizer=tokenizer)
    from index.bm25.tantivy_index import TantivyBM25

    return TantivyBM25(settings.index_dir / "bm25", tokenizer)
