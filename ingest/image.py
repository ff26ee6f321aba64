"""Images -> one image segment, OCR passages, EXIF metadata and a thumbnail (Pillow).

The pixel count and the bytes of the decoded image are checked from the header before any
decoding (``image_too_large``, see :mod:`ingest.image_decode`). The decoded image is shrunk
at once to what OCR reads (MAX_OCR_SIDE), so one full-size copy lives only while decoding.
Boxes are in pixels of the full image as displayed (EXIF orientation applied).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from ingest.base import Extraction, ExtractOptions
from ingest.exif import exif_metadata
from ingest.image_decode import decode_image, reduction_factor, shrink
from ingest.layout import block_segments
from ingest.ocr import MAX_OCR_SIDE, ocr_available, ocr_image, ocr_unavailable_reason
from mmrag.domain import ExtractedSegment, Locator, Modality

# Formats every browser and embedder reads: their original bytes are kept as they are.
KEPT_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
# How each EXIF orientation is undone (as ImageOps.exif_transpose does), applied to the
# shrunk copy: the orientation is read from the decoded image (TIFF keeps it in its tags).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}  # fmt: skip
_SWAPPED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that turn the image a quarter


def extract_image(path: Path, media_type: str, options: ExtractOptions) -> Extraction:
    """Return the image segment, OCR passages, metadata and thumbnail of an image file."""
    decoded = decode_image(path, options, longest=MAX_OCR_SIDE)
    image = decoded.image
    orientation = image.getexif().get(0x0112)
    width, height = _displayed_size(decoded.size, orientation)
    metadata: dict[str, object] = {
        "width": width, "height": height, "format": image.format, "mode": decoded.mode,
    }  # fmt: skip
    if exif := exif_metadata(image):
        metadata["exif"] = exif
    if options.ocr and not ocr_available():
        metadata["ocr_unavailable"] = ocr_unavailable_reason()
    kept = KEPT_FORMATS.get(image.format or "")
    media = path.read_bytes() if kept else encode_png(_displayable(_upright(image, orientation)))
    factor = reduction_factor(image.size, longest=MAX_OCR_SIDE)
    shown = _upright(shrink(image, factor), orientation)
    del image, decoded  # from here on only the shrunk copy is held
    return Extraction(
        media_type=media_type,
        metadata=metadata,
        segments=_segments(shown, (width, height), media, kept or "image/png", options),
        thumbnail=thumbnail_png(shown, options.thumbnail_side),
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


def _displayed_size(size: tuple[int, int], orientation: object) -> tuple[int, int]:
    """Return the header ``size`` as displayed (sides swapped by a quarter-turn orientation)."""
    return (size[1], size[0]) if orientation in _SWAPPED_ORIENTATIONS else size


def _upright(image: Image.Image, orientation: object) -> Image.Image:
    """Return ``image`` turned as its EXIF ``orientation`` says it is displayed."""
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(method)


def _segments(
    shown: Image.Image,
    size: tuple[int, int],
    media: bytes,
    media_type: str,
    options: ExtractOptions,
) -> Iterator[ExtractedSegment]:
    """Yield the image itself, then the passages OCR finds in ``shown`` (boxes at ``size``)."""
    width, height = size
    yield ExtractedSegment(
        modality=Modality.IMAGE,
        locator=Locator(bbox=(0.0, 0.0, float(width), float(height))),
        media=media,
        media_type=media_type,
    )
    if options.ocr and ocr_available():
        blocks = [line.as_block(width / shown.width) for line in ocr_image(shown)]
        yield from block_segments(blocks, options)


def _displayable(image: Image.Image) -> Image.Image:
    """Return ``image`` in a mode PNG can store (16-bit, CMYK and others converted)."""
    if image.mode in ("RGB", "RGBA", "L", "LA", "P", "1"):
        return image
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")
