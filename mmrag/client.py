"""A small Python client for a running mmrag server (httpx): collections, uploads with
progress, jobs, search and answers (streamed as they are written).

    from mmrag.client import Client

    with Client("http://127.0.0.1:8000", api_key="mmrag_...") as mm:
        mm.create_collection("docs")
        job = mm.upload("docs", ["manual.pdf", "talk.mp3"])
        mm.wait_job(job["job_id"])
        hits = mm.search("cooling loop", collection="docs")["hits"]
        for event, data in mm.answer("How is the loop cooled?", collection="docs", stream=True):
            print(event, data)

Errors come back as :class:`ClientError` with the server's status, code and message.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import httpx

Progress = Callable[[int, int], None]  # (bytes sent so far, bytes in all)


class ClientError(Exception):
    """A request the server refused or could not serve."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class Client:
    """One connection pool to one server; use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # --- collections, documents, jobs ----------------------------------------------------

    def collections(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._json("GET", "/v1/collections")
        return result

    def create_collection(
        self, name: str, metadata_fields: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body = {"name": name, "metadata_fields": metadata_fields or {}}
        result: dict[str, Any] = self._json("POST", "/v1/collections", json=body)
        return result

    def upload(
        self,
        collection: str,
        paths: Iterable[str | Path],
        *,
        metadata: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Upload files in one request; ``progress`` is called as their bytes go out."""
        files = [Path(p) for p in paths]
        total = sum(f.stat().st_size for f in files)
        sent = [0]

        def report(count: int) -> None:
            sent[0] += count
            if progress is not None:
                progress(sent[0], total)

        with ExitStack() as stack:
            parts = [
                ("files", (f.name, _Counting(stack.enter_context(f.open("rb")), report)))
                for f in files
            ]
            data = {"metadata": json.dumps(metadata)} if metadata else None
            result: dict[str, Any] = self._json(
                "POST", f"/v1/collections/{collection}/documents", files=parts, data=data
            )
        return result

    def documents(self, collection: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._json(
            "GET", f"/v1/collections/{collection}/documents", params=params
        )
        return result

    def document(self, document_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/v1/documents/{document_id}")
        return result

    def delete_document(self, document_id: str) -> None:
        self._json("DELETE", f"/v1/documents/{document_id}")

    def job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/v1/jobs/{job_id}")
        return result

    def wait_job(
        self,
        job_id: str,
        *,
        poll: float = 0.5,
        timeout: float | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll the job until it is done; TimeoutError after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_update is not None:
                on_update(job)
            if job["status"] == "done":
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} not done after {timeout} s: {job}")
            time.sleep(poll)

    # --- search and answers --------------------------------------------------------------

    def search(
        self,
        text: str | None = None,
        *,
        collection: str | None = None,
        collections: list[str] | None = None,
        image: bytes | Path | None = None,
        audio: bytes | Path | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """``options``: k, filters, channels, rrf_k, group_by_document, explain, merge_span_s."""
        body = {
            **_targets(collection, collections),
            "query": _query(text, image, audio),
            **options,
        }
        result: dict[str, Any] = self._json("POST", "/v1/search", json=body)
        return result

    def answer(
        self,
        question: str,
        *,
        collection: str | None = None,
        collections: list[str] | None = None,
        stream: bool = False,
        **options: Any,
    ) -> Any:
        """The answer as a dict, or with ``stream=True`` an iterator of ``(event, data)``:
        ``("token", {"text"})`` as they are written, then ``("answer", {...})``."""
        body = {**_targets(collection, collections), "question": question, **options}
        if not stream:
            return self._json("POST", "/v1/answer", json=body)
        return self._events("/v1/answer", {**body, "stream": True})

    # --- plumbing ------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        _raise_for(response)
        return response.json() if response.content else None

    def _events(self, path: str, body: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        with self.http.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for(response)
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:].strip())
                    if event == "error":
                        error = data.get("error", data)
                        raise ClientError(502, error.get("code", "error"), error.get("message", ""))
                    yield event, data
                    event = "message"


class _Counting:
    """A file wrapper that reports how many bytes were read from it."""

    def __init__(self, file: IO[bytes], report: Callable[[int], None]) -> None:
        self.file, self.report = file, report

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.report(len(chunk))
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(64 * 1024):
            yield chunk


def _targets(collection: str | None, collections: list[str] | None) -> dict[str, Any]:
    if collection is not None:
        return {"collection": collection}
    return {"collections": collections or []}


def _query(
    text: str | None, image: bytes | Path | None, audio: bytes | Path | None
) -> dict[str, Any]:
    query: dict[str, Any] = {"text": text} if text else {}
    for name, media in (("image", image), ("audio", audio)):
        if media is not None:
            raw = media.read_bytes() if isinstance(media, Path) else media
            query[name] = base64.b64encode(raw).decode()
    return query


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.text[:500]
    raise ClientError(response.status_code, code, message)
