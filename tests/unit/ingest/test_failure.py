"""A failed file's reason names the upload, whichever way a library spelled the blob's path."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.failure import name_the_upload, sniffed_type


def test_every_spelling_of_the_blob_becomes_the_file_name(tmp_path: Path) -> None:
    digest = "6c3e" + "0" * 60
    blob = tmp_path / "blobs" / "6c" / "3e" / digest
    relative = Path(os.path.relpath(blob))
    reason = f"Failed to open file '{blob}'; {relative} again; {digest} is broken"
    named = name_the_upload(reason, relative, "manual.pdf")
    assert named == "Failed to open file 'manual.pdf'; manual.pdf again; manual.pdf is broken"


def test_sniffed_type_is_none_for_empty_or_missing_blobs(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "page").write_bytes(b"%PDF-1.4\n")
    assert sniffed_type(tmp_path / "empty") is None and sniffed_type(tmp_path / "gone") is None
    assert sniffed_type(tmp_path / "page") == "application/pdf"
