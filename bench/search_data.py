"""Populate an embedded data directory with N synthetic segments per space, for bench/search.py.

What goes in, per space (``text``, ``image``, ``audio``), ``n`` segments in documents of
``PER_DOCUMENT`` segments, all in collection ``bench``, straight into the stores the API
reads (catalog rows, BM25, the vector store) rather than through ingestion, which would take
hours at this size:

- text segments: passages of 2-6 real sentences drawn (seeded) from the Python library
  reference (apt ``python3-doc``); they go to BM25 and to the ``text`` space.
- image and audio segments: a short caption as text (not indexed), and a vector.
- vectors: random unit vectors (seeded, float32) of each space's dimension. Search cost
  does not depend on the vectors' meaning; random vectors are the hard case for HNSW.

Shards above ``faiss_exact_threshold`` become HNSW; they are built here (by one search per
space) and snapshotted, so the server loads them instead of building them on a request.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from lxml import html as lxml_html
from sqlalchemy import insert

from index.bm25.base import TermDoc
from index.filters import Filter, Payload
from index.stores.base import VectorRecord
from mmrag.catalog import collections
from mmrag.catalog.models import DocumentRow, SegmentRow
from workers.runtime import Runtime

COLLECTION = "bench"
PER_DOCUMENT = 100
BATCH = 10_000
LIBRARY_CANDIDATES = sorted(Path("/usr/share/doc").glob("python3*/html/library"))
MODALITY = {"text": "text", "image": "image", "audio": "audio"}
MEDIA_TYPE = {"text": "text/html", "image": "image/png", "audio": "audio/wav"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def real_sentences(limit_files: int = 120) -> list[str]:
    """Return sentences (6-40 words) from the Python library reference; exit if missing."""
    folder = next((d for d in LIBRARY_CANDIDATES if d.is_dir()), None)
    if folder is None:
        raise SystemExit("bench/search.py needs real text: apt-get install -y python3-doc")
    sentences: list[str] = []
    for path in sorted(folder.glob("*.html"))[:limit_files]:
        body = lxml_html.fromstring(path.read_bytes()).find_class("body")
        for block in body[0].iter("p", "dd", "li") if body else []:
            text = " ".join(block.text_content().split())
            sentences += [s for s in _SENTENCE_END.split(text) if 6 <= len(s.split()) <= 40]
    return sentences


def passages(sentences: Sequence[str], n: int, seed: int) -> Iterator[str]:
    """Yield ``n`` passages of 2-6 sentences drawn with replacement (seeded)."""
    rng = random.Random(seed)
    for _ in range(n):
        yield " ".join(rng.choices(sentences, k=rng.randint(2, 6)))


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """Return ``n`` random L2-normalised float32 rows."""
    rows = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def populate(rt: Runtime, n: int, dims: dict[str, int], sentences: Sequence[str]) -> None:
    """Write ``n`` segments per space in ``dims`` to catalog, BM25 and vector store."""
    with rt.catalog.session() as session:
        collection_id = collections.ensure_collection(session, COLLECTION).id
    for space_index, (space, dim) in enumerate(dims.items()):
        rt.vectors.ensure_space(space, dim)
        texts = passages(sentences, n, seed=space_index)
        vectors = unit_vectors(n, dim, seed=100 + space_index)
        for start in range(0, n, BATCH):
            batch = [next(texts) for _ in range(min(BATCH, n - start))]
            _write_batch(rt, collection_id, space, start, batch, vectors[start : start + BATCH])


def _write_batch(
    rt: Runtime, collection_id: int, space: str, start: int, texts: list[str], vectors: np.ndarray
) -> None:
    docs, segs, payloads = [], [], []
    now = time.time()
    for i, text in enumerate(texts, start=start):
        doc_id = f"{space[:2]}{i // PER_DOCUMENT:08d}"
        if i % PER_DOCUMENT == 0:
            docs.append(_document(doc_id, collection_id, space))
        seg_id = f"{doc_id}-{i % PER_DOCUMENT:06d}"
        segs.append(_segment(seg_id, doc_id, i % PER_DOCUMENT, space, text))
        payloads.append(
            Payload(seg_id, doc_id, COLLECTION, MODALITY[space], MEDIA_TYPE[space], now)
        )
    with rt.catalog.session() as session:
        if docs:
            session.execute(insert(DocumentRow), docs)
        session.execute(insert(SegmentRow), segs)
    if space == "text":
        rt.bm25.add([TermDoc(p, t) for p, t in zip(payloads, texts, strict=True)])
    rt.vectors.upsert(space, [VectorRecord(p, v) for p, v in zip(payloads, vectors, strict=True)])


def _document(doc_id: str, collection_id: int, space: str) -> dict[str, object]:
    return {
        "id": doc_id, "collection_id": collection_id, "filename": f"{doc_id}.{space}",
        "media_type": MEDIA_TYPE[space], "sha256": f"{doc_id:0>64}", "size": 1,
        "status": "indexed", "stage": "index", "meta": {},
    }  # fmt: skip


def _segment(seg_id: str, doc_id: str, ordinal: int, space: str, text: str) -> dict[str, object]:
    caption = text if space == "text" else text[:80]
    return {
        "id": seg_id, "document_id": doc_id, "ordinal": ordinal, "modality": MODALITY[space],
        "text": caption, "locator": {"page": 1 + ordinal // 10} if space == "text" else {},
        "media_key": None, "media_type": None,
    }  # fmt: skip


def prebuild(rt: Runtime, dims: dict[str, int]) -> None:
    """Load (building HNSW where needed) and snapshot every space's shards."""
    for space, dim in dims.items():
        rt.vectors.search(
            space, unit_vectors(1, dim, seed=7)[0], 10, Filter(collections=[COLLECTION])
        )
    save = getattr(rt.vectors, "save_snapshots", None)
    if save is not None:
        save()
