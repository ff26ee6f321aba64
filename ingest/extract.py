"""Entry point of the stage: sniff a file's type from its content and run its extractor."""

from __future__ import annotations

from pathlib import Path

from ingest.av import AUDIO_TYPES, VIDEO_TYPES, extract_av
from ingest.base import Extraction, ExtractOptions, Extractor
from ingest.html import extract_html
from ingest.image import extract_image
from ingest.pdf import extract_pdf
from ingest.sniff import sniff_media_type
from ingest.text import extract_text
from mmrag.errors import UnsupportedMediaType

EXTRACTORS: dict[str, Extractor] = {
    "application/pdf": extract_pdf,
    "text/plain": extract_text,
    "text/markdown": extract_text,
    "text/html": extract_html,
    "image/png": extract_image,
    "image/jpeg": extract_image,
    "image/gif": extract_image,
    "image/webp": extract_image,
    "image/tiff": extract_image,
    "image/bmp": extract_image,
    **dict.fromkeys(AUDIO_TYPES + VIDEO_TYPES, extract_av),
}


def supported_media_types() -> list[str]:
    """Return the media types that have an extractor, sorted."""
    return sorted(EXTRACTORS)


def extract_file(path: Path, options: ExtractOptions) -> Extraction:
    """Return the extraction of ``path``, dispatched on the media type sniffed from content.

    Raises :class:`UnsupportedMediaType` naming the detected type when no extractor
    handles it (executables, archives), and the extractor's
    :class:`mmrag.errors.BadInput` errors for damaged or oversized input.
    """
    media_type = sniff_media_type(path)
    extractor = EXTRACTORS.get(media_type)
    if extractor is None:
        raise UnsupportedMediaType(
            f"{path.name}: content detected as {media_type}, which is not supported "
            f"(supported: {', '.join(supported_media_types())})"
        )
    return extractor(path, media_type, options)
