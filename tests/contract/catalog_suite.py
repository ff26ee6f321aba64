"""Contract of the catalog: every database backend runs these same tests."""

from __future__ import annotations

import time

import pytest

from mmrag.catalog import collections, documents, jobs, leases
from mmrag.catalog.db import Catalog, migrate
from mmrag.catalog.models import SegmentRow
from mmrag.domain import DocumentStatus, Stage
from mmrag.errors import BadInput, Conflict, NotFound

KEY_A, KEY_B, KEY_C = "a" * 64, "b" * 64, "c" * 64


class CatalogContract:
    @pytest.fixture
    def catalog(self, catalog_url: str) -> Catalog:
        return Catalog(catalog_url)

    def _upload(self, catalog: Catalog, *keys: str) -> tuple[str, list[str]]:
        with catalog.session() as s:
            col = collections.ensure_collection(s, "docs")
            job = jobs.create_job(s, col.id)
            ids = [
                documents.register_document(
                    s,
                    collection_id=col.id,
                    job_id=job.id,
                    filename=f"{k[:4]}.txt",
                    blob_key=k,
                    size=10,
                ).document.id
                for k in keys
            ]
            return job.id, ids

    def test_migrations_are_idempotent(self, catalog: Catalog) -> None:
        migrate(catalog.engine)
        migrate(catalog.engine)

    def test_collection_names_are_unique_and_safe(self, catalog: Catalog) -> None:
        with catalog.session() as s:
            collections.create_collection(s, "alpha")
        with pytest.raises(Conflict), catalog.session() as s:
            collections.create_collection(s, "alpha")
        for bad in ("../etc", "a/b", "", "x" * 65, "name with space", "a\x00b"):
            with pytest.raises(BadInput), catalog.session() as s:
                collections.create_collection(s, bad)
        with pytest.raises(NotFound), catalog.session() as s:
            collections.get_collection(s, "missing")

    def test_duplicate_bytes_return_the_existing_document(self, catalog: Catalog) -> None:
        _, first = self._upload(catalog, KEY_A)
        job_id, second = self._upload(catalog, KEY_A, KEY_B)
        assert second[0] == first[0]
        with catalog.session() as s:
            report = jobs.job_report(s, job_id)
        assert (report.total, report.skipped, report.done) == (2, 1, 0)
        assert report.status == "running"

    def test_claim_is_exclusive_and_a_duplicate_delivery_finds_nothing(
        self, catalog: Catalog
    ) -> None:
        _, [doc] = self._upload(catalog, KEY_A)
        with catalog.session() as s:
            first = leases.claim(s, doc, Stage.EXTRACT, "w1", ttl=60)
        with catalog.session() as s:
            assert leases.claim(s, doc, Stage.EXTRACT, "w2", ttl=60) is None
            assert leases.claim(s, doc, Stage.INDEX, "w2", ttl=60) is None
        assert first is not None and first.attempts == 1

    def test_expired_lease_is_taken_over_and_the_old_owner_cannot_finish(
        self, catalog: Catalog
    ) -> None:
        _job_id, [doc] = self._upload(catalog, KEY_A)
        with catalog.session() as s:
            old = leases.claim(s, doc, Stage.EXTRACT, "w1", ttl=0.2)
        time.sleep(0.4)
        with catalog.session() as s:
            new = leases.claim(s, doc, Stage.EXTRACT, "w2", ttl=60)
        assert old is not None and new is not None and new.attempts == 2
        with catalog.session() as s:
            assert not leases.renew(s, old, ttl=60)
            assert not leases.advance(s, old, Stage.EMBED)
            assert leases.advance(s, new, Stage.EMBED)

    def test_done_and_failed_are_counted_once(self, catalog: Catalog) -> None:
        job_id, [a, b] = self._upload(catalog, KEY_A, KEY_B)
        with catalog.session() as s:
            claim_a = leases.claim(s, a, Stage.EXTRACT, "w", ttl=60)
            claim_b = leases.claim(s, b, Stage.EXTRACT, "w", ttl=60)
        assert claim_a and claim_b
        with catalog.session() as s:
            assert leases.complete(s, claim_a, job_id)
            assert not leases.complete(s, claim_a, job_id)
            assert leases.fail(s, claim_b, job_id, "pdf_corrupt", "broken xref")
            assert not leases.fail(s, claim_b, job_id, "pdf_corrupt", "broken xref")
        with catalog.session() as s:
            report = jobs.job_report(s, job_id)
        assert (report.status, report.done, report.failed) == ("done", 1, 1)
        assert [(e.document_id, e.reason) for e in report.errors] == [(b, "broken xref")]

    def test_failed_duplicate_is_queued_again(self, catalog: Catalog) -> None:
        job_id, [doc] = self._upload(catalog, KEY_A)
        with catalog.session() as s:
            claim = leases.claim(s, doc, Stage.EXTRACT, "w", ttl=60)
            assert claim and leases.fail(s, claim, job_id, "x", "transient oops")
        job2, [again] = self._upload(catalog, KEY_A)
        with catalog.session() as s:
            row = documents.get_document(s, again)
            assert (again, row.status, row.error, row.job_id) == (doc, "queued", None, job2)
            assert jobs.job_report(s, job2).skipped == 0

    def test_strays_are_found_once_per_interval(self, catalog: Catalog) -> None:
        _, [a, b] = self._upload(catalog, KEY_A, KEY_B)
        with catalog.session() as s:
            assert leases.claim(s, b, Stage.EXTRACT, "w", ttl=0.1)
        time.sleep(0.3)
        with catalog.session() as s:
            found = {x.document_id for x in leases.strays(s, requeue_after=0.2)}
        assert found == {a}  # b's lease expired but was announced too recently (enqueued_at)
        with catalog.session() as s:
            assert leases.strays(s, requeue_after=0.2) == []

    def test_list_documents_pages_with_a_cursor_and_filters_status(self, catalog: Catalog) -> None:
        _, ids = self._upload(catalog, KEY_A, KEY_B, KEY_C)
        with catalog.session() as s:
            col = collections.get_collection(s, "docs")
            page1 = documents.list_documents(s, col.id, limit=2)
            page2 = documents.list_documents(s, col.id, after=page1[-1].id, limit=2)
            assert [d.id for d in page1 + page2] == sorted(ids)
            assert documents.list_documents(s, col.id, status="indexed") == []
            with pytest.raises(BadInput):
                documents.list_documents(s, col.id, status="bogus")

    def test_unreferenced_blobs_exclude_shared_ones(self, catalog: Catalog) -> None:
        _, [a, b] = self._upload(catalog, KEY_A, KEY_B)
        media = "d" * 64
        with catalog.session() as s:
            for doc in (a, b):
                documents.replace_segments(
                    s,
                    doc,
                    [
                        SegmentRow(
                            id=f"{doc}-0",
                            document_id=doc,
                            ordinal=0,
                            modality="image",
                            text="",
                            locator={},
                            media_key=media,
                            media_type="image/png",
                        )
                    ],
                )
        with catalog.session() as s:
            keys = documents.blob_keys_of(s, a)
            assert keys == {KEY_A, media}
            row = documents.get_document(s, a)
            s.delete(row)
            s.flush()
            assert documents.unreferenced(s, keys) == {KEY_A}

    def test_replace_segments_never_duplicates(self, catalog: Catalog) -> None:
        _, [doc] = self._upload(catalog, KEY_A)
        for _ in range(2):
            with catalog.session() as s:
                documents.replace_segments(
                    s,
                    doc,
                    [
                        SegmentRow(
                            id=f"{doc}-{i}",
                            document_id=doc,
                            ordinal=i,
                            modality="text",
                            text=f"t{i}",
                            locator={"page": 1},
                        )
                        for i in range(3)
                    ],
                )
        with catalog.session() as s:
            assert documents.count_segments(s, doc) == 3
            assert documents.get_document(s, doc).status == DocumentStatus.QUEUED
