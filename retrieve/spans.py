"""Merge hits from the same recording at nearby times into one span.

A spoken sentence can be found as a transcript passage, as the sound window around it and
as the video frame on screen; shown separately they crowd the list with one moment. With
``Query.merge_span_s`` > 0 a hit whose time range lies within that many seconds of a better
hit of the same document widens the better hit's range instead of taking a place.
"""

from __future__ import annotations

from dataclasses import replace

from mmrag.domain import Hit, Segment


def merge_into(hits: list[Hit], segment: Segment, gap_s: float) -> bool:
    """Widen the first hit in ``hits`` that ``segment`` overlaps or nears; True if one did."""
    start, end = _span(segment)
    if start is None or end is None or gap_s <= 0:
        return False
    for index, hit in enumerate(hits):
        other = hit.segment
        if other.document_id != segment.document_id:
            continue
        other_start, other_end = _span(other)
        if other_start is None or other_end is None:
            continue
        if start <= other_end + gap_s and other_start <= end + gap_s:
            locator = replace(
                other.locator, start_s=min(start, other_start), end_s=max(end, other_end)
            )
            hits[index] = replace(
                hit, segment=replace(other, locator=locator), merged=(*hit.merged, segment.id)
            )
            return True
    return False


def _span(segment: Segment) -> tuple[float | None, float | None]:
    start, end = segment.locator.start_s, segment.locator.end_s
    return start, end if end is not None else start
