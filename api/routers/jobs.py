"""Jobs: progress and per-file errors of an upload or bulk ingestion."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.auth import CallerDep, authorize
from api.deps import CatalogDep
from api.schemas import JobOut
from mmrag.catalog.jobs import job_collection, job_report

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: str, catalog: CatalogDep, caller: CallerDep) -> JobOut:
    with catalog.session() as session:
        if caller is not None:
            authorize(caller, "read", job_collection(session, job_id))
        return JobOut.model_validate(asdict(job_report(session, job_id)))
