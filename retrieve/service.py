"""The search use case that the API and the CLI both run: request -> Query -> fused hits."""

from __future__ import annotations

from typing import Any

from mmrag.catalog import collections
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings
from retrieve.request import SearchIn, build_query
from retrieve.search import Retriever, SearchResult


def collection_options(
    catalog: Catalog, names: list[str]
) -> tuple[dict[str, str], list[dict[str, Any] | None]]:
    """Return the collections' declared metadata fields and each one's stored fusion."""
    fields: dict[str, str] = {}
    stored: list[dict[str, Any] | None] = []
    with catalog.session() as session:
        for name in names:
            row = collections.get_collection(session, name)
            fields.update(collections.metadata_fields(row))
            stored.append(collections.fusion_settings(row))
    return fields, stored


def search(
    catalog: Catalog,
    retriever: Retriever,
    settings: Settings,
    request: SearchIn,
    image: bytes | None = None,
    audio: bytes | None = None,
) -> SearchResult:
    """Validate ``request`` against the settings and the collections, then run it."""
    fields, stored = collection_options(catalog, request.collection_names())
    return retriever.search(build_query(request, image, audio, settings, fields, stored))
