"""BM25 served by Qdrant sparse vectors with the IDF modifier (scale-out mode).

Document vectors hold the BM25 term-frequency part,
``tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))``; Qdrant multiplies each query
term by its IDF, ``ln(1 + (N - n + 0.5) / (n + 0.5))``, computed over the collection
(``Modifier.IDF``), and query vectors hold the term's multiplicity. ``avg_len`` is fixed,
as in Qdrant's own BM25 (fastembed ``Bm25``): a changing average would need every stored
vector rewritten. Term ids are the first 4 bytes of blake2b of the token.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence

from qdrant_client import QdrantClient, models

from index.bm25.base import K1, B, TermDoc, TermHit
from index.filters import Filter, Payload
from index.tokenize import Tokenizer

VECTOR = "bm25"
_POINT_NAMESPACE = uuid.UUID("6f1c3f4e-2d0b-4b8e-9a53-000000000025")
_KEYWORDS = ("segment_id", "document_id", "collection", "modality", "media_type")


def term_id(token: str) -> int:
    """Return the stable uint32 id of a token (same in every process and release)."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big")


def point_id(segment_id: str) -> str:
    """Return the Qdrant point id (a UUID) of a segment id."""
    return str(uuid.uuid5(_POINT_NAMESPACE, segment_id))


def tf_vector(tokens: Sequence[str], avg_len: float) -> models.SparseVector:
    """Return the BM25 term-frequency part of a document as a sparse vector."""
    norm = K1 * (1 - B + B * len(tokens) / avg_len)
    counts = Counter(term_id(t) for t in tokens)
    ids = sorted(counts)
    return models.SparseVector(
        indices=ids, values=[counts[i] * (K1 + 1) / (counts[i] + norm) for i in ids]
    )


class QdrantBM25:
    """BM25 over one Qdrant collection of sparse vectors; local mode or a server."""

    def __init__(
        self,
        client: QdrantClient,
        collection: str = "mmrag_bm25",
        tokenizer: Tokenizer | None = None,
        avg_len: float = 256.0,
    ) -> None:
        self.client, self.collection, self.avg_len = client, collection, avg_len
        self.tokenizer = tokenizer or Tokenizer()
        if not client.collection_exists(collection):
            self._create()

    def _create(self) -> None:
        self.client.create_collection(
            self.collection,
            vectors_config={},
            sparse_vectors_config={VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        for name in _KEYWORDS:
            self.client.create_payload_index(
                self.collection, name, models.PayloadSchemaType.KEYWORD
            )
        self.client.create_payload_index(
            self.collection, "created_at", models.PayloadSchemaType.FLOAT
        )

    def add(self, docs: Sequence[TermDoc]) -> None:
        if not docs:
            return
        points = [
            models.PointStruct(
                id=point_id(d.payload.segment_id),
                vector={VECTOR: tf_vector(self.tokenizer(d.text), self.avg_len)},
                payload=_payload(d.payload),
            )
            for d in docs
        ]
        self.client.upsert(self.collection, points, wait=True)

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        if not document_ids:
            return
        selector = models.Filter(must=[_any("document_id", document_ids)])
        self.client.delete(self.collection, selector, wait=True)

    def search(self, query: str, k: int, where: Filter) -> list[TermHit]:
        counts = Counter(term_id(t) for t in self.tokenizer(query))
        if not counts or k <= 0:
            return []
        ids = sorted(counts)
        vector = models.SparseVector(indices=ids, values=[float(counts[i]) for i in ids])
        found = self.client.query_points(
            self.collection,
            query=vector,
            using=VECTOR,
            query_filter=to_qdrant_filter(where),
            limit=k,
            with_payload=["segment_id"],
        ).points
        return [TermHit(str((p.payload or {})["segment_id"]), p.score) for p in found]

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count

    def close(self) -> None:
        self.client.close()


def _payload(p: Payload) -> dict[str, object]:
    return {
        "segment_id": p.segment_id,
        "document_id": p.document_id,
        "collection": p.collection,
        "modality": p.modality,
        "media_type": p.media_type,
        "created_at": p.created_at,
        "metadata": dict(p.metadata),
    }


def _any(key: str, values: Sequence[str]) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))


def _equals(key: str, value: object) -> models.FieldCondition:
    # Qdrant matches str/int/bool exactly; a float is matched as a one-point range.
    if isinstance(value, float):
        return models.FieldCondition(key=key, range=models.Range(gte=value, lte=value))
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))  # type: ignore[arg-type]


def to_qdrant_filter(where: Filter) -> models.Filter | None:
    """Return the Qdrant filter with the semantics of :meth:`Filter.matches`."""
    must: list[models.Condition] = [
        _any(key, values)
        for key, values in (
            ("collection", where.collections),
            ("document_id", where.document_ids),
            ("modality", where.modalities),
            ("media_type", where.media_types),
        )
        if values
    ]
    if where.created is not None:
        bounds = models.Range(gte=where.created.gte, lte=where.created.lte)
        must.append(models.FieldCondition(key="created_at", range=bounds))
    for name, wanted in where.metadata_equals.items():
        values = list(wanted) if isinstance(wanted, list | tuple) else [wanted]
        must.append(models.Filter(should=[_equals(f"metadata.{name}", v) for v in values]))
    for name, r in where.metadata_ranges.items():
        must.append(
            models.FieldCondition(key=f"metadata.{name}", range=models.Range(gte=r.gte, lte=r.lte))
        )
    return models.Filter(must=must) if must else None
