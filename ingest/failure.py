"""What a failed file's report says: the name it was uploaded under and its sniffed type.

Extractors and the libraries under them see the blob store's file, named by its content
hash under the data directory; their messages ("<hash> is empty", "Failed to open file
'/srv/data/blobs/6c/3e/<hash>'") would show users a hash and a server path instead of the
file they sent.
"""

from __future__ import annotations

from pathlib import Path

from ingest.sniff import sniff_media_type
from mmrag.errors import BadInput


def name_the_upload(reason: str, blob_path: Path, filename: str) -> str:
    """Return ``reason`` with every spelling of the blob's path (and its hash) replaced by
    ``filename``: the absolute and the given path first, then the bare file name."""
    spellings = {str(blob_path.resolve()), str(blob_path), blob_path.name}
    for internal in sorted(spellings, key=len, reverse=True):
        reason = reason.replace(internal, filename)
    return reason


def sniffed_type(blob_path: Path) -> str | None:
    """Return the media type sniffed from the blob, or None when it is empty or unreadable."""
    try:
        return sniff_media_type(blob_path)
    except (BadInput, OSError):
        return None
