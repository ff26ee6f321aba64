"""EXIF -> JSON-safe metadata: readable tag names mapped to short strings."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from PIL import ExifTags, Image

MAX_VALUE_CHARS = 200
# Binary blobs or layout details that mean nothing to a reader or a search filter.
_SKIPPED = frozenset(
    {"MakerNote", "UserComment", "PrintImageMatching", "ExifOffset", "GPSInfo",
     "JPEGInterchangeFormat", "JPEGInterchangeFormatLength", "StripOffsets",
     "StripByteCounts", "ComponentsConfiguration", "InteropOffset"}
)  # fmt: skip


def exif_metadata(image: Image.Image) -> dict[str, str]:
    """Return the image's EXIF tags (main and Exif IFDs) by name, values as strings.

    GPS tags are left out on purpose: location is not needed for retrieval.
    """
    exif = image.getexif()
    items: dict[int, Any] = dict(exif.items())
    with suppress(KeyError, ValueError, TypeError, OSError):  # bad sub-IFD: keep the rest
        items.update(exif.get_ifd(ExifTags.IFD.Exif))
    out: dict[str, str] = {}
    for tag, value in items.items():
        name = ExifTags.TAGS.get(tag)
        if name is None or name in _SKIPPED:
            continue
        if (text := _readable(value)) is not None:
            out[name] = text
    return out


def _readable(value: Any) -> str | None:
    """Return ``value`` as a short printable string, or None when it is binary noise."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    text = str(value).replace("\x00", "").strip()
    if not text or not text.isprintable():
        return None
    return text[:MAX_VALUE_CHARS]
