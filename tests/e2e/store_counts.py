"""What the catalog, BM25 and the FAISS store hold, read fresh from disk (no stale readers)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from typing import Any

from sqlalchemy import func, select

from index.bm25 import open_bm25
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import DocumentRow, SegmentRow
from mmrag.settings import Settings
from workers.embedding import SPACE_MODALITIES


def store_counts(settings: Settings) -> dict[str, Any]:
    """Document statuses, segments, BM25 count and each space's vector segment ids."""
    catalog = Catalog(settings.resolved_catalog_url)
    with catalog.session() as session:
        statuses = dict(
            session.execute(
                select(DocumentRow.status, func.count()).group_by(DocumentRow.status)
            ).all()
        )
        segments = session.execute(select(SegmentRow.id, SegmentRow.modality, SegmentRow.text))
        by_space: dict[str, set[str]] = {space: set() for space in SPACE_MODALITIES}
        termed = 0
        for segment_id, modality, text in segments:
            termed += modality == "text" and bool(text.strip())
            for space, modalities in SPACE_MODALITIES.items():
                if modality in modalities:
                    by_space[space].add(segment_id)
    catalog.dispose()
    with closing(sqlite3.connect(settings.index_dir / "faiss" / "records.sqlite")) as db:
        rows = db.execute("SELECT space, segment_id FROM records").fetchall()
    vectors: dict[str, list[str]] = {space: [] for space in SPACE_MODALITIES}
    for space, segment_id in rows:
        vectors[space].append(segment_id)
    return {
        "statuses": statuses,
        "catalog_segments": {space: sorted(ids) for space, ids in by_space.items()},
        "catalog_terms": termed,
        "vectors": {space: sorted(ids) for space, ids in vectors.items()},
        "bm25": open_bm25(settings).count(),
    }


def assert_indexed_exactly_once(settings: Settings, documents: int) -> None:
    """Every document indexed; each index holds each segment once, and nothing else."""
    counts = store_counts(settings)
    assert counts["statuses"] == {"indexed": documents}
    assert counts["bm25"] == counts["catalog_terms"] > 0
    for space in settings.spaces:
        held = counts["vectors"][space]
        assert not [k for k, n in Counter(held).items() if n > 1], space
        assert held == counts["catalog_segments"][space], space
