"""Jobs: progress and per-file errors of an upload or bulk ingestion."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import RuntimeDep
from api.schemas import JobOut
from mmrag.catalog.jobs import job_report

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: str, rt: RuntimeDep) -> JobOut:
    with rt.catalog.session() as session:
        return JobOut.model_validate(asdict(job_report(session, job_id)))
