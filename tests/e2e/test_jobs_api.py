"""Jobs through the API with no worker running: a collection's jobs can be listed (an upload
whose answer was lost is found), a job that skipped a duplicate still being processed is not
done before it, and /readyz says that nothing consumes the documents that wait.

Cost: ~4 s of calls (plus the shared in-process API's start and stop)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mmrag.catalog import leases
from mmrag.domain import Stage
from mmrag.settings import Settings
from tests.e2e.conftest import upload
from workers.runtime import Runtime


def finish(settings: Settings, document_id: str, job_id: str) -> None:
    """Do what a worker's last stage does: claim the document and mark it indexed."""
    rt = Runtime.open(settings)
    with rt.catalog.session() as session:
        claim = leases.claim(session, document_id, Stage.EXTRACT, "test", ttl=60)
        assert claim is not None
        assert leases.complete(session, claim, job_id)
    rt.close()


def test_a_job_that_skipped_a_duplicate_is_done_only_when_the_duplicate_is(
    client: TestClient, settings: Settings
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    first = upload(client, "c", [("a.txt", b"herons wade"), ("a2.txt", b"herons wade")]).json()
    second = upload(client, "c", [("b.txt", b"herons wade")]).json()
    document_id = first["documents"][0]["id"]
    assert second["documents"][0]["id"] == document_id
    for job_id in (first["job_id"], second["job_id"]):
        job = client.get(f"/v1/jobs/{job_id}").json()
        assert job["status"] != "done", job
    assert client.get(f"/v1/jobs/{second['job_id']}").json()["skipped"] == 1

    finish(settings, document_id, first["job_id"])
    done = [client.get(f"/v1/jobs/{up['job_id']}").json() for up in (first, second)]
    assert [(j["status"], j["done"], j["skipped"]) for j in done] == [
        ("done", 1, 1),  # its own second copy counted as skipped
        ("done", 0, 1),
    ]


def test_a_collections_jobs_are_listed_newest_first_page_by_page(client: TestClient) -> None:
    client.post("/v1/collections", json={"name": "c"})
    client.post("/v1/collections", json={"name": "other"})
    ids = [upload(client, "c", [(f"{i}.txt", f"note {i}".encode())]).json()["job_id"]
           for i in range(3)]  # fmt: skip
    upload(client, "other", [("x.txt", b"elsewhere")])

    listed = client.get("/v1/collections/c/jobs").json()
    assert [j["id"] for j in listed["jobs"]] == ids[::-1] and listed["next_cursor"] is None
    assert listed["jobs"][0]["status"] == "queued" and listed["jobs"][0]["total"] == 1
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/collections/c/jobs", params=params).json()
        seen += [j["id"] for j in page["jobs"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == ids[::-1]

    foreign = client.get("/v1/collections/other/jobs").json()["jobs"][0]["id"]
    bad = client.get("/v1/collections/c/jobs", params={"cursor": foreign})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_cursor"
    missing = client.get("/v1/collections/nope/jobs")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "collection_not_found"


def test_readyz_is_not_ready_while_documents_wait_and_no_worker_lives(
    client: TestClient, settings: Settings
) -> None:
    client.post("/v1/collections", json={"name": "c"})
    workers = client.get("/readyz").json()["checks"]["workers"]
    assert workers == {"up": True, "live": 0, "waiting": 0}  # nothing to do: no worker needed
    accepted = upload(client, "c", [("a.txt", b"kingfisher")]).json()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    workers = ready.json()["checks"]["workers"]
    assert workers["up"] is False and workers["waiting"] == 1
    assert workers["reason"] == "1 documents wait and no worker is alive"
    finish(settings, accepted["documents"][0]["id"], accepted["job_id"])
    assert client.get("/readyz").json()["checks"]["workers"]["up"] is True
