"""The CLI's commands against a remote server (``--url``), through :mod:`mmrag.client`.

Each function prints what the local command prints and returns its exit code: 0 success,
1 some files failed, 2 a refused request, 3 an abstained answer.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.text import Text

from mmrag.client import Client, ClientError
from mmrag.domain import Locator
from mmrag.result_view import HitRow, SourceRow, hits_table, print_answer_end, print_degraded

UPLOAD_BATCH = 50  # files per upload request


def ingest(
    url: str,
    api_key: str | None,
    paths: Sequence[Path],
    collection: str,
    wait: bool,
    console: Console,
) -> int:
    from mmrag.intake import walk

    files: list[Path] = []
    unreadable = 0
    for item in walk(paths):
        if isinstance(item, tuple):
            console.print(f"[yellow]not read[/yellow] {item[0]}: {item[1]}")
            unreadable += 1
        else:
            files.append(item)
    with Client(url, api_key) as client:
        try:
            job_ids = _upload(client, collection, files, console)
            if not wait:
                console.print(f"jobs {', '.join(job_ids)}")
                return 0
            reports = [_follow(client, job_id, console) for job_id in job_ids]
        except ClientError as exc:
            console.print(f"[red]error[/red] {exc.code}: {exc.message}")
            return 2
    failed = sum(r["failed"] for r in reports)
    print_summary(reports, console)
    return 1 if failed or unreadable else 0


def _upload(client: Client, collection: str, files: list[Path], console: Console) -> list[str]:
    total = sum(f.stat().st_size for f in files)
    job_ids: list[str] = []
    columns = (TextColumn("uploading"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("upload", total=total)
        done = 0
        for start in range(0, len(files), UPLOAD_BATCH):
            batch = files[start : start + UPLOAD_BATCH]
            base = done

            def report(sent: int, _: int, base: int = base) -> None:
                progress.update(task, completed=base + sent)

            accepted = client.upload(collection, batch, progress=report)
            done += sum(f.stat().st_size for f in batch)
            job_ids.append(accepted["job_id"])
    return job_ids


def _follow(client: Client, job_id: str, console: Console) -> dict[str, Any]:
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"job {job_id[:8]}", total=None)

        def update(job: dict[str, Any]) -> None:
            finished = job["done"] + job["skipped"] + job["failed"]
            progress.update(task, total=job["total"], completed=finished)

        return client.wait_job(job_id, on_update=update)


def print_summary(reports: Sequence[Mapping[str, Any]], console: Console) -> None:
    """Print the end-of-ingestion summary of one or more job reports (``GET /v1/jobs`` shape;
    the local CLI passes its :class:`~mmrag.catalog.jobs.JobReport` as a dict)."""
    total = {k: sum(r[k] for r in reports) for k in ("done", "skipped", "failed", "total")}
    types: dict[str, int] = {}
    kinds: dict[str, dict[str, int]] = {}
    for report in reports:
        for media_type, n in report.get("media_types", {}).items():
            types[media_type] = types.get(media_type, 0) + n
        for kind, counts in report.get("kinds", {}).items():
            mine = kinds.setdefault(kind, {"indexed": 0, "failed": 0})
            for outcome, n in counts.items():
                mine[outcome] = mine.get(outcome, 0) + n
    by_type = ", ".join(f"{t}: {n}" for t, n in sorted(types.items())) or "none"
    console.print(
        f"indexed {total['done']}, skipped {total['skipped']} (already present), "
        f"failed {total['failed']} of {total['total']}; indexed by type: {by_type}"
    )
    for kind, counts in sorted(kinds.items()):
        console.print(f"  {kind}: {counts['indexed']} indexed, {counts['failed']} failed")
    for report in reports:
        for error in report["errors"]:
            console.print(f"[red]failed[/red] {error['filename']}: {error['reason']}")


@dataclass(frozen=True)
class View:
    """How results are printed: channel ranks, whole texts, whole degraded reasons."""

    explain: bool = False
    full: bool = False
    verbose: bool = False


def search(
    url: str,
    api_key: str | None,
    text: str | None,
    collections: list[str] | None,
    image: Path | None,
    audio: Path | None,
    k: int,
    view: View,
    console: Console,
    *,
    optional: bool = False,
) -> int | None:
    """Search on the server at ``url`` and print what the local command prints.

    ``optional`` (the data dir's own server, found by its marker): return None instead of
    failing when it refuses this caller's key or stops answering, so the caller searches
    in-process.
    """
    with Client(url, api_key) as client:
        try:
            names = collections or [c["name"] for c in client.collections()]
            result = client.search(
                text, collections=names, image=image, audio=audio, k=k, explain=view.explain
            )
        except (ClientError, OSError, httpx.TransportError) as exc:
            return _refused(exc, console, optional=optional)
    if optional:
        console.print(Text(f"(answered by the server running at {url})", style="dim"))
    rows = [_hit_row(hit) for hit in result["hits"]]
    Console().print(hits_table(rows, view.explain, full=view.full))
    print_degraded(result.get("degraded", []), console, verbose=view.verbose)
    return 0


def _refused(exc: Exception, console: Console, *, optional: bool) -> int | None:
    """Print why a request failed and return the exit code (None: go on without the server)."""
    status = getattr(exc, "status", None)
    if optional and (status in (401, 403) or isinstance(exc, httpx.TransportError)):
        why = "needs an API key (--api-key)" if status in (401, 403) else "stopped answering"
        console.print(Text(f"(the running server {why}: searching in this process)", style="dim"))
        return None
    code = getattr(exc, "code", "bad_input")
    console.print(f"[red]error[/red] {code}: {getattr(exc, 'message', exc)}")
    return 2


def _hit_row(hit: dict[str, Any]) -> HitRow:
    explained = hit.get("explain") or {}
    channels = {name: (e["rank"], e["score"]) for name, e in explained.items()}
    locator = Locator.from_json(hit.get("locator"))
    return HitRow(hit["score"], hit["modality"], hit["document_id"], locator, hit["text"], channels)


def ask(
    url: str,
    api_key: str | None,
    question: str,
    collections: list[str] | None,
    backend: str | None,
    image: Path | None,
    k: int | None,
    view: View,
    console: Console,
    *,
    optional: bool = False,
) -> int | None:
    """Ask the server at ``url``, stream the answer, print its sources; as :func:`search`,
    ``optional`` returns None when the data dir's own server cannot be used."""
    options: dict[str, Any] = {}
    if backend:
        options["backend"] = backend
    if k:
        options["k"] = k
    if image is not None:
        options["image"] = base64.b64encode(image.read_bytes()).decode()
    final: dict[str, Any] = {}
    streamed = False
    with Client(url, api_key) as client:
        try:
            names = collections or [c["name"] for c in client.collections()]
            for event, data in client.answer(question, collections=names, stream=True, **options):
                if event == "token":
                    streamed = True
                    sys.stdout.write(data["text"])
                    sys.stdout.flush()
                elif event == "answer":
                    final = data
        except (ClientError, OSError, httpx.TransportError) as exc:
            if streamed:
                sys.stdout.write("\n")
            return _refused(exc, console, optional=optional and not streamed)
    _print_answer_end(final)
    if optional:
        console.print(Text(f"(answered by the server running at {url})", style="dim"))
    print_degraded(final.get("degraded", []), console, verbose=view.verbose)
    return 3 if final.get("abstained") else 0


def _print_answer_end(final: dict[str, Any]) -> None:
    cited = {c["n"] for c in final.get("citations", [])}
    sources = [
        SourceRow(s["n"], s["n"] in cited, s["document_id"], s["where"], s["media_url"] or "")
        for s in final.get("sources", [])
    ]
    unsupported = [(u["reason"], u["sentence"]) for u in final.get("unsupported", [])]
    print_answer_end(
        sources, abstained=bool(final.get("abstained")), reason=final.get("reason"),
        dropped=final.get("dropped_citations", []), unsupported=unsupported,
    )  # fmt: skip
