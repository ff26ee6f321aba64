"""Hits and sources made in the test, for the generate/ unit tests."""

from __future__ import annotations

from mmrag.domain import Hit, Locator, Modality, Segment


def hit(
    text: str,
    n: int = 1,
    *,
    modality: Modality = Modality.TEXT,
    locator: Locator | None = None,
    media_key: str | None = None,
    document: str | None = None,
) -> Hit:
    segment = Segment(
        id=f"seg{n}",
        document_id=document or f"doc{n}",
        collection="c",
        ordinal=n,
        modality=modality,
        text=text,
        locator=locator or Locator(page=n),
        media_key=media_key,
        media_type="image/png" if media_key else None,
    )
    return Hit(segment, 1.0 / n)


def hits(*texts: str) -> list[Hit]:
    return [hit(t, n) for n, t in enumerate(texts, start=1)]
