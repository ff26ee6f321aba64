"""Passage context: the title and heading path reach the indexes, not the stored text."""

from __future__ import annotations

import io

from index.filters import Filter
from index.passage_context import passage_context
from mmrag.catalog import collections, documents, jobs
from mmrag.domain import Modality, Stage
from mmrag.settings import Settings
from workers.bulk import accept
from workers.pipeline import run_stage
from workers.runtime import Runtime

FILLER = "The pump runs each morning and stops at night when the tank is full. " * 30
MARKDOWN = f"# Plant manual\n\n## Glycol maintenance\n\n{FILLER}\n\nDrain it yearly.\n"


def test_context_joins_title_and_path_without_repeating() -> None:
    assert passage_context("Debian FAQ", "8.1 APT") == "Debian FAQ > 8.1 APT"
    assert passage_context("Plant manual", "Plant manual > Glycol") == "Plant manual > Glycol"
    assert passage_context(None, "Intro > Setup") == "Intro > Setup"
    assert passage_context("Title only", None) == "Title only"
    assert passage_context(None, None) == ""


def test_heading_words_find_a_passage_that_never_says_them(settings: Settings) -> None:
    rt = Runtime.open(settings)
    with rt.catalog.session() as session:
        collection_id = collections.ensure_collection(session, "c").id
        job_id = jobs.create_job(session, collection_id).id
    doc = accept(
        rt, io.BytesIO(MARKDOWN.encode()), collection_id=collection_id, job_id=job_id,
        filename="manual.md",
    ).document.id  # fmt: skip
    stage: Stage | None = Stage.EXTRACT
    while stage is not None:
        stage = run_stage(rt, doc, stage, "test").next_stage
    with rt.catalog.session() as session:
        rows = documents.document_segments(session, doc)
        stored = {
            r.id: r.text
            for r in rows
            if r.modality == Modality.TEXT
            and (r.locator.get("section") or "").endswith("Glycol maintenance")
        }
    last = max(stored)  # the passage holding "Drain it yearly." only
    assert "glycol" not in stored[last].lower() and len(stored) > 1
    hits = {hit.segment_id for hit in rt.bm25.search("glycol", 10, Filter())}
    assert hits == set(stored)  # every passage of the section, the last one included
    assert not any("Plant manual > Glycol" in text for text in stored.values())
