"""The pipeline stages run directly (no broker): idempotence, leases, failures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from index.filters import Filter
from mmrag.catalog import collections, jobs
from mmrag.catalog.models import DocumentRow, SegmentRow
from mmrag.domain import DocumentStatus, Stage
from mmrag.settings import Settings
from tests.media import write_pdf
from workers.bulk import accept
from workers.pipeline import run_stage
from workers.runtime import Runtime


@pytest.fixture
def rt(settings: Settings) -> Runtime:
    return Runtime.open(settings)


def upload(rt: Runtime, *files: tuple[str, bytes]) -> tuple[str, list[str]]:
    with rt.catalog.session() as s:
        col_id = collections.ensure_collection(s, "c").id
        job_id = jobs.create_job(s, col_id).id
    ids = [
        accept(rt, io.BytesIO(data), collection_id=col_id, job_id=job_id, filename=name).document.id
        for name, data in files
    ]
    return job_id, ids


def run_all(rt: Runtime, doc: str, owner: str = "w") -> None:
    stage: Stage | None = Stage.EXTRACT
    while stage is not None:
        stage = run_stage(rt, doc, stage, owner).next_stage


def test_a_pdf_goes_through_every_stage(rt: Runtime, tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "a.pdf", ["glycol cooling loop", "quarterly target"], image=True)
    job_id, [doc] = upload(rt, ("a.pdf", pdf.read_bytes()))
    run_all(rt, doc)
    with rt.catalog.session() as s:
        row = s.get_one(DocumentRow, doc)
        segs = list(s.scalars(select(SegmentRow).where(SegmentRow.document_id == doc)))
        report = jobs.job_report(s, job_id)
    assert (row.status, row.media_type, row.meta["page_count"]) == ("indexed", "application/pdf", 2)
    assert {s.modality for s in segs} == {"text", "page_image", "image"}
    assert all(rt.blobs.exists(s.media_key) for s in segs if s.media_key)
    assert row.thumbnail_key and rt.blobs.exists(row.thumbnail_key)
    assert (report.status, report.done) == ("done", 1)
    [hit] = rt.bm25.search("quarterly", 5, Filter())
    page2 = next(s for s in segs if s.id == hit.segment_id)
    assert page2.locator["page"] == 2


def test_redelivery_at_any_stage_changes_nothing(rt: Runtime) -> None:
    job_id, [doc] = upload(rt, ("a.txt", b"zebra crossing ahead"))
    run_all(rt, doc)
    for stage in Stage:  # a duplicate message for every stage, after the fact
        assert run_stage(rt, doc, stage, "other").next_stage is None
    with rt.catalog.session() as s:
        assert jobs.job_report(s, job_id).done == 1
    assert rt.bm25.count() == 1


def test_bad_input_fails_the_document_with_its_reason(rt: Runtime) -> None:
    job_id, [bad, good] = upload(rt, ("x.pdf", b"%PDF-1.7\n1 0 obj <<"), ("ok.txt", b"fine words"))
    run_all(rt, bad)
    run_all(rt, good)
    with rt.catalog.session() as s:
        report = jobs.job_report(s, job_id)
        row = s.get_one(DocumentRow, bad)
    assert (report.done, report.failed, report.status) == (1, 1, "done")
    assert row.status == DocumentStatus.FAILED and row.error_code == "pdf_corrupt"
    assert report.errors[0].filename == "x.pdf" and report.errors[0].reason


def test_a_document_that_keeps_crashing_workers_is_given_up(rt: Runtime) -> None:
    job_id, [doc] = upload(rt, ("a.txt", b"poison"))
    with rt.catalog.session() as s:
        s.get_one(DocumentRow, doc).attempts = 50  # as if 50 workers died holding it
    run_stage(rt, doc, Stage.EXTRACT, "w")
    with rt.catalog.session() as s:
        row = s.get_one(DocumentRow, doc)
        assert (row.status, row.error_code) == ("failed", "worker_crashed")
        assert jobs.job_report(s, job_id).failed == 1
