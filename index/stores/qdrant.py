"""Vector store on Qdrant: local mode (a path or ``:memory:``) in tests, a URL at scale.

One Qdrant collection per space (``mmrag_vectors_{space}``; BM25 keeps ``mmrag_bm25``),
holding one named cosine vector called after the space. Spaces are declared lazily and a
segment lives in one space, so one collection per deployment with a named vector per
space would share no payloads and would need named vectors added to a live collection
(only Qdrant >= 1.18 can); a collection per space also lets a space be re-embedded or
dropped alone. Point ids are uuid5 of the segment id (Qdrant wants ints or UUIDs); the
segment id stays in the payload.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from index.filters import Filter, Payload, Scalar
from index.stores.base import VectorHit, VectorRecord
from index.stores.checks import UnknownSpace, check_k, check_space_dim, unit_query, unit_rows
from index.stores.qdrant_filter import METADATA, metadata_key, to_qdrant
from mmrag.settings import Settings

_POINT_NAMESPACE = uuid.UUID("6f1c0b0e-6d2a-5b1e-9a51-6d6d7261670a")
_BATCH = 256
_CORE_INDEXES = {
    "collection": models.PayloadSchemaType.KEYWORD,
    "document_id": models.PayloadSchemaType.KEYWORD,
    "modality": models.PayloadSchemaType.KEYWORD,
    "media_type": models.PayloadSchemaType.KEYWORD,
    "segment_id": models.PayloadSchemaType.KEYWORD,
    "created_at": models.PayloadSchemaType.FLOAT,
}


def point_id(segment_id: str) -> str:
    """Return the deterministic Qdrant point id of a segment."""
    return str(uuid.uuid5(_POINT_NAMESPACE, segment_id))


def field_schema(value: Scalar) -> models.PayloadSchemaType:
    """Return the payload index type for a metadata value (numbers share FLOAT: ranges)."""
    if isinstance(value, bool):
        return models.PayloadSchemaType.BOOL
    if isinstance(value, str):
        return models.PayloadSchemaType.KEYWORD
    return models.PayloadSchemaType.FLOAT

# What qdrant-client raises when the server is unreachable or times out.
ENGINE_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, ResponseHandlingException)


def open_qdrant_client(settings: Settings) -> QdrantClient:
    """Return a client on the configured Qdrant server, or on local mode under the data dir."""
    if settings.qdrant_url:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantClient(url=settings.qdrant_url, api_key=key)
    return QdrantClient(path=str(settings.index_dir / "qdrant"))


class QdrantStore:
    """Qdrant behind the :class:`~index.stores.base.VectorStore` protocol."""

    def __init__(self, client: QdrantClient, prefix: str = "mmrag_vectors") -> None:
        self.client = client
        self.prefix = prefix
        self._dims: dict[str, int] = {}
        self._indexed: dict[str, set[str]] = {}  # space -> payload keys with an index

    @classmethod
    def local(cls, path: Path | None = None, prefix: str = "mmrag_vectors") -> QdrantStore:
        """Open local mode on ``path`` (one process at a time), or in memory when None."""
        location = ":memory:" if path is None else None
        return cls(QdrantClient(location=location, path=str(path) if path else None), prefix)

    @classmethod
    def from_settings(cls, settings: Settings) -> QdrantStore:
        return cls(open_qdrant_client(settings))

    def collection_name(self, space: str) -> str:
        return f"{self.prefix}_{space}"

    # -- VectorStore ---------------------------------------------------------------------

    def ensure_space(self, space: str, dim: int) -> None:
        check_space_dim(space, None, dim)
        name = self.collection_name(space)
        if not self.client.collection_exists(name):
            self._create(space, dim)
        check_space_dim(space, self._dim(space), dim)

    def upsert(self, space: str, records: Sequence[VectorRecord]) -> None:
        rows = unit_rows(space, self._dim(space), records)
        self._index_metadata(space, [r.payload for r in records])
        points = [
            models.PointStruct(
                id=point_id(r.payload.segment_id),
                vector={space: row.tolist()},
                payload=_payload(r.payload),
            )
            for r, row in zip(records, rows, strict=True)
        ]
        for start in range(0, len(points), _BATCH):
            self.client.upsert(self.collection_name(space), points[start : start + _BATCH])

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        if not document_ids:
            return
        documents = models.FieldCondition(
            key="document_id", match=models.MatchAny(any=list(document_ids))
        )
        selector = models.FilterSelector(filter=models.Filter(must=[documents]))
        for name in self._collections():
            self.client.delete(name, points_selector=selector, wait=True)

    def search(
        self, space: str, vector: NDArray[np.float32], k: int, where: Filter
    ) -> list[VectorHit]:
        check_k(k)
        query = unit_query(space, self._dim(space), vector)[0]
        response = self.client.query_points(
            self.collection_name(space),
            query=query.tolist(),
            using=space,
            limit=k,
            query_filter=to_qdrant(where),
            with_payload=["segment_id"],
        )
        return [VectorHit(str((p.payload or {})["segment_id"]), p.score) for p in response.points]

    def count(self, space: str, where: Filter | None = None) -> int:
        self._dim(space)
        result = self.client.count(
            self.collection_name(space), count_filter=to_qdrant(where), exact=True
        )
        return int(result.count)

    def close(self) -> None:
        self.client.close()

    # -- internals -----------------------------------------------------------------------

    def _collections(self) -> list[str]:
        names = [c.name for c in self.client.get_collections().collections]
        return [n for n in names if n.startswith(f"{self.prefix}_")]

    def _create(self, space: str, dim: int) -> None:
        name = self.collection_name(space)
        try:
            self.client.create_collection(
                name,
                vectors_config={
                    space: models.VectorParams(size=dim, distance=models.Distance.COSINE)
                },
            )
        except (UnexpectedResponse, ValueError):
            if not self.client.collection_exists(name):  # lost a race to another process: fine
                raise
        for key, schema in _CORE_INDEXES.items():
            self._create_index(space, key, schema)

    def _dim(self, space: str) -> int:
        if space not in self._dims:
            name = self.collection_name(space)
            if not self.client.collection_exists(name):
                raise UnknownSpace(space)
            info = self.client.get_collection(name)
            vectors = info.config.params.vectors
            if not isinstance(vectors, dict) or space not in vectors:
                raise UnknownSpace(space)
            self._dims[space] = int(vectors[space].size)
            self._indexed[space] = set(info.payload_schema)
        return self._dims[space]

    def _index_metadata(self, space: str, payloads: Sequence[Payload]) -> None:
        """Create a payload index for each metadata field the first time it is seen."""
        known = self._indexed.setdefault(space, set())
        for payload in payloads:
            for name, value in payload.metadata.items():
                key = metadata_key(name)
                if key not in known:
                    self._create_index(space, key, field_schema(value))

    def _create_index(self, space: str, key: str, schema: models.PayloadSchemaType) -> None:
        with warnings.catch_warnings():  # local mode warns that indexes have no effect there
            warnings.simplefilter("ignore")
            self.client.create_payload_index(self.collection_name(space), key, schema, wait=True)
        self._indexed.setdefault(space, set()).add(key)


def _payload(payload: Payload) -> dict[str, Any]:
    return {
        "segment_id": payload.segment_id,
        "document_id": payload.document_id,
        "collection": payload.collection,
        "modality": payload.modality,
        "media_type": payload.media_type,
        "created_at": float(payload.created_at),
        METADATA: dict(payload.metadata),
    }
