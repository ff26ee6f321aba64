"""The CLI's commands against a remote server (``--url``), through :mod:`mmrag.client`.

Each function prints what the local command prints and returns its exit code: 0 success,
1 some files failed, 2 a refused request, 3 an abstained answer.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from mmrag.client import Client, ClientError

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


def search(
    url: str,
    api_key: str | None,
    text: str | None,
    collections: list[str] | None,
    image: Path | None,
    audio: Path | None,
    k: int,
    explain: bool,
    console: Console,
) -> int:
    with Client(url, api_key) as client:
        try:
            names = collections or [c["name"] for c in client.collections()]
            result = client.search(
                text, collections=names, image=image, audio=audio, k=k, explain=explain
            )
        except (ClientError, OSError) as exc:
            code = getattr(exc, "code", "bad_input")
            console.print(f"[red]error[/red] {code}: {getattr(exc, 'message', exc)}")
            return 2
    for reason in result.get("degraded", []):
        console.print(f"[yellow]degraded[/yellow] {reason}")
    table = Table("#", "score", "modality", "document", "where", "text", "link")
    if explain:
        table.add_column("channels (rank/score)")
    for rank, hit in enumerate(result["hits"], 1):
        cells = [
            str(rank), f"{hit['score']:.4f}", hit["modality"], hit["document_id"][:12],
            _where(hit["locator"]), hit["text"][:80].replace("\n", " "), hit["media_url"] or "",
        ]  # fmt: skip
        if explain:
            explained = hit.get("explain") or {}
            cells.append(
                " ".join(f"{c}:{e['rank']}/{e['score']:.3f}" for c, e in explained.items())
            )
        table.add_row(*(Text(c) for c in cells))
    Console().print(table)
    return 0


def ask(
    url: str,
    api_key: str | None,
    question: str,
    collections: list[str] | None,
    backend: str | None,
    image: Path | None,
    k: int | None,
    console: Console,
) -> int:
    options: dict[str, Any] = {}
    if backend:
        options["backend"] = backend
    if k:
        options["k"] = k
    if image is not None:
        import base64

        options["image"] = base64.b64encode(image.read_bytes()).decode()
    final: dict[str, Any] = {}
    with Client(url, api_key) as client:
        try:
            names = collections or [c["name"] for c in client.collections()]
            for event, data in client.answer(question, collections=names, stream=True, **options):
                if event == "token":
                    sys.stdout.write(data["text"])
                    sys.stdout.flush()
                elif event == "answer":
                    final = data
        except ClientError as exc:
            console.print(f"\n[red]error[/red] {exc.code}: {exc.message}")
            return 2
    out = Console(soft_wrap=True)
    if final.get("abstained"):
        out.print(f"(no answer) {final.get('reason')}", markup=False)
    else:
        sys.stdout.write("\n")
    cited = {c["n"] for c in final.get("citations", [])}
    table = Table("n", "cited", "document", "where", "link")
    for source in final.get("sources", []):
        cells = [
            f"[{source['n']}]", "*" if source["n"] in cited else "",
            source["document_id"][:12], source["where"], source["media_url"] or "",
        ]  # fmt: skip
        table.add_row(*(Text(c) for c in cells))
    out.print(table)
    return 3 if final.get("abstained") else 0


def _where(locator: dict[str, Any]) -> str:
    parts = []
    if locator.get("page"):
        parts.append(f"page={locator['page']}")
    if locator.get("start_s") is not None:
        parts.append(f"t={locator['start_s']:g}-{locator.get('end_s', locator['start_s']):g}s")
    if locator.get("section"):
        parts.append(str(locator["section"])[:30])
    return " ".join(parts)
