"""Images -> one image segment, OCR passages, EXIF metadata and a thumbnail (Pillow).

The pixel count is checked from the header before any decoding (``image_too_large``);
Pillow's own decompression-bomb guard is set from the same limit as a backstop. Boxes are
in pixels of the image as displayed (EXIF orientation applied).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

from ingest.base import Extraction, ExtractOptions
from ingest.exif import exif_metadata
from ingest.layout import block_segments
from ingest.ocr import ocr_available, ocr_image, ocr_unavailable_reason
from mmrag.domain import ExtractedSegment, Locator, Modality
from mmrag.errors import BadInput

# Formats every browser and embedder reads: their original bytes are kept as they are.
KEPT_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def extract_image(path: Path, media_type: str, options: ExtractOptions) -> Extraction:
    """Return the image segment, OCR passages, metadata and thumbnail of an image file."""
    image = open_image(path, options)
    shown = ImageOps.exif_transpose(image)
    metadata: dict[str, object] = {
        "width": shown.width, "height": shown.height, "format": image.format, "mode": image.mode,
    }  # fmt: skip
    if exif := exif_metadata(image):
        metadata["exif"] = exif
    if options.ocr and not ocr_available():
        metadata["ocr_unavailable"] = ocr_unavailable_reason()
    return Extraction(
        media_type=media_type,
        metadata=metadata,
        segments=_segments(path, image, shown, options),
        thumbnail=thumbnail_png(shown, options.thumbnail_side),
    )


def open_image(path: Path | BinaryIO, options: ExtractOptions) -> Image.Image:
    """Return the decoded first frame of ``path``, refusing bombs and corrupt files."""
    Image.MAX_IMAGE_PIXELS = options.max_image_pixels
    try:
        with Image.open(path) as probe:  # reads the header only
            check_pixels(probe.size, options.max_image_pixels)
            probe.verify()
        if not isinstance(path, Path):
            path.seek(0)
        image = Image.open(path)
        image.load()
    except Image.DecompressionBombError as exc:
        raise BadInput(f"image is too large to decode: {exc}", code="image_too_large") from exc
    except _DECODE_ERRORS as exc:
        raise BadInput(f"image is corrupt or truncated: {exc}", code="image_corrupt") from exc
    return image


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Raise ``image_too_large`` when an image of ``size`` has more than ``max_pixels``."""
    width, height = size
    if width * height > max_pixels:
        raise BadInput(
            f"image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels",
            code="image_too_large",
        )


def thumbnail_png(image: Image.Image, side: int) -> bytes:
    """Return a PNG of ``image`` scaled to fit in ``side`` x ``side``."""
    thumb = image.copy()
    thumb.thumbnail((side, side))
    if thumb.mode not in ("RGB", "RGBA", "L", "LA"):
        thumb = thumb.convert("RGBA" if "A" in thumb.getbands() else "RGB")
    return encode_png(thumb)


def encode_png(image: Image.Image) -> bytes:
    """Return ``image`` encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _segments(
    path: Path, image: Image.Image, shown: Image.Image, options: ExtractOptions
) -> Iterator[ExtractedSegment]:
    """Yield the image itself, then the passages OCR finds in it."""
    kept = KEPT_FORMATS.get(image.format or "")
    media = path.read_bytes() if kept else encode_png(_displayable(shown))
    yield ExtractedSegment(
        modality=Modality.IMAGE,
        locator=Locator(bbox=(0.0, 0.0, float(shown.width), float(shown.height))),
        media=media,
        media_type=kept or "image/png",
    )
    if options.ocr and ocr_available():
        blocks = [line.as_block() for line in ocr_image(shown)]
        yield from block_segments(blocks, options)


def _displayable(image: Image.Image) -> Image.Image:
    """Return ``image`` in a mode PNG can store (16-bit, CMYK and others converted)."""
    if image.mode in ("RGB", "RGBA", "L", "LA", "P", "1"):
        return image
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")
