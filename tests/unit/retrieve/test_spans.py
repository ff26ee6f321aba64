"""Hits of one recording at nearby times merge into one span; others keep their places."""

from __future__ import annotations

from mmrag.domain import Hit, Locator, Modality, Segment
from retrieve.spans import merge_into


def seg(sid: str, doc: str, start: float | None, end: float | None) -> Segment:
    return Segment(
        id=sid, document_id=doc, collection="c", ordinal=0, modality=Modality.TEXT, text=sid,
        locator=Locator(start_s=start, end_s=end), media_key=None, media_type=None,
        source_key="k" + doc, source_type="audio/x-wav",
    )  # fmt: skip


def test_nearby_spans_of_one_file_widen_the_better_hit() -> None:
    hits = [Hit(seg("a", "d1", 10.0, 14.0), 1.0), Hit(seg("b", "d2", 10.0, 14.0), 0.9)]
    assert merge_into(hits, seg("c", "d1", 15.0, 18.0), gap_s=2.0)
    assert hits[0].segment.locator.start_s == 10.0 and hits[0].segment.locator.end_s == 18.0
    assert hits[0].merged == ("c",) and hits[0].score == 1.0
    assert hits[0].segment.media_link() == ("kd1", "#t=10,18")
    assert hits[1].segment.locator.end_s == 14.0  # another file is untouched


def test_far_apart_untimed_or_disabled_do_not_merge() -> None:
    hits = [Hit(seg("a", "d1", 10.0, 14.0), 1.0)]
    assert not merge_into(hits, seg("c", "d1", 16.5, 20.0), gap_s=2.0)  # 2.5 s apart
    assert not merge_into(hits, seg("p", "d1", None, None), gap_s=2.0)  # a PDF passage
    assert not merge_into(hits, seg("c", "d1", 12.0, 13.0), gap_s=0.0)  # merging off
    assert hits[0].merged == ()
