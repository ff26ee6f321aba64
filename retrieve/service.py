"""The search use case that the API and the CLI both run: request -> Query -> fused hits."""

from __future__ import annotations

from mmrag.catalog import collections
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings
from retrieve.request import SearchIn, build_query
from retrieve.search import Retriever, SearchResult


def declared_fields(catalog: Catalog, names: list[str]) -> dict[str, str]:
    """Return the metadata fields (name -> kind) the collections declare; NotFound if absent."""
    fields: dict[str, str] = {}
    with catalog.session() as session:
        for name in names:
            fields.update(collections.metadata_fields(collections.get_collection(session, name)))
    return fields


def search(
    catalog: Catalog,
    retriever: Retriever,
    settings: Settings,
    request: SearchIn,
    image: bytes | None = None,
    audio: bytes | None = None,
) -> SearchResult:
    """Validate ``request`` against the settings and the collections, then run it."""
    fields = declared_fields(catalog, request.collection_names())
    return retriever.search(build_query(request, image, audio, settings, fields))
