"""Where the API serves media: the links a hit or a source carries (API and CLI alike)."""

from __future__ import annotations

from mmrag.domain import Segment


def media_url(key: str | None, fragment: str = "") -> str | None:
    return f"/v1/media/{key}{fragment}" if key else None


def segment_media_url(segment: Segment) -> str | None:
    link = segment.media_link()
    return media_url(*link) if link else None
