"""Jobs: progress and per-file errors of an upload or bulk ingestion, and a collection's jobs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CallerDep, authorize
from api.deps import CatalogDep
from api.schemas import JobOut, JobPage, JobSummaryOut
from mmrag.catalog.collections import get_collection
from mmrag.catalog.jobs import job_collection, job_report, list_jobs

router = APIRouter(tags=["jobs"])


@router.get("/v1/jobs/{job_id}")
def get_job(job_id: str, catalog: CatalogDep, caller: CallerDep) -> JobOut:
    with catalog.session() as session:
        if caller is not None:
            authorize(caller, "read", job_collection(session, job_id))
        return JobOut.model_validate(asdict(job_report(session, job_id)))


@router.get("/v1/collections/{name}/jobs")
def list_collection_jobs(
    name: str,
    catalog: CatalogDep,
    caller: CallerDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> JobPage:
    """The collection's jobs, newest first: how to find an upload whose answer was lost."""
    authorize(caller, "read", name)
    with catalog.session() as session:
        collection_id = get_collection(session, name).id
        rows = list_jobs(session, collection_id, before=cursor, limit=limit + 1)
    out = [JobSummaryOut.model_validate(asdict(row)) for row in rows[:limit]]
    return JobPage(jobs=out, next_cursor=out[-1].id if len(rows) > limit else None)
