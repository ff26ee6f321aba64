"""Decoding images within a memory budget: header checks, reduced decoding, shrinking in strips.

A decoded image costs width x height x bytes per pixel however small its file is (Pillow keeps
multi-band pixels in 32 bits): a 250 KB PNG of 7999x7999 unpacks to 256 MB. So the bytes of
one decode are bounded (``max_image_decode_bytes``) as well as its pixels: a JPEG decodes
reduced (``Image.draft``, 1/2 to 1/8 scale) to what its consumer needs and to the budget; any
other format whose full decode is over the budget is refused (``image_too_large``).
Consumers need a few thousand pixels a side at most (OCR 2400, thumbnails 256, embedders
224), so the decoded image is shrunk at once by an integer factor, strip by strip, because a
whole-image ``reduce``/``resize`` of RGBA or palette pixels first converts into a second
full-size copy. Modes are converted only on the shrunk image.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageMode

from ingest.base import ExtractOptions
from mmrag.errors import BadInput

# Twice the 224-pixel input of the shipped image embedders: their own resize from here sees
# what it would see from the full image (Pillow's reducing_gap=2 argument).
EMBED_MIN_SIDE = 448
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
_REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F"}
_JPEG_SCALES = (1, 2, 4, 8)  # the reduced scales a JPEG decoder offers
_STRIP_PIXELS = 1_000_000  # pixels of the original handled per strip while shrinking


@dataclass(frozen=True)
class DecodedImage:
    """A decoded first frame (JPEG possibly at a reduced scale) and what its header said."""

    image: Image.Image
    size: tuple[int, int]
    mode: str


def decoded_bytes(size: tuple[int, int], mode: str) -> int:
    """Return the bytes Pillow needs to hold an image of ``size`` in ``mode``."""
    info = ImageMode.getmode(mode)
    per_pixel = 4 if len(info.bands) > 1 else int(info.typestr[-1])
    return size[0] * size[1] * per_pixel


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Raise ``image_too_large`` when an image of ``size`` has more than ``max_pixels``."""
    width, height = size
    if width * height > max_pixels:
        raise BadInput(
            f"image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels",
            code="image_too_large",
        )


def check_decode_bytes(size: tuple[int, int], mode: str, budget: int) -> None:
    """Raise ``image_too_large`` naming the setting when decoding needs over ``budget`` bytes."""
    needed = decoded_bytes(size, mode)
    if needed > budget:
        raise BadInput(
            f"decoding this {size[0]}x{size[1]} {mode} image needs {needed} bytes, over the "
            f"limit of {budget} bytes per image (MMRAG_MAX_IMAGE_DECODE_BYTES)",
            code="image_too_large",
        )


def decode_image(
    source: Path | BinaryIO, options: ExtractOptions, *, longest: int = 0, shortest: int = 0
) -> DecodedImage:
    """Return the first frame of ``source`` decoded within the pixel and byte limits.

    A JPEG is decoded at the smallest scale that keeps its longest side at least ``longest``
    and its shortest at least ``shortest`` pixels (0: full size) and fits the byte budget.
    Refuses bombs (``image_too_large``) and damaged files (``image_corrupt``).
    """
    Image.MAX_IMAGE_PIXELS = options.max_image_pixels  # Pillow's own guard, as a backstop
    try:
        with Image.open(source) as probe:  # reads the header only
            check_pixels(probe.size, options.max_image_pixels)
            probe.verify()
        if not isinstance(source, Path):
            source.seek(0)
        image = Image.open(source)
        size, mode = image.size, image.mode
        if image.format == "JPEG":
            budget = options.max_image_decode_bytes
            image.draft(mode, _draft_size(size, mode, budget, longest, shortest))
        check_decode_bytes(image.size, image.mode, options.max_image_decode_bytes)
        image.load()
    except Image.DecompressionBombError as exc:
        raise BadInput(f"image is too large to decode: {exc}", code="image_too_large") from exc
    except _DECODE_ERRORS as exc:
        raise BadInput(f"image is corrupt or truncated: {exc}", code="image_corrupt") from exc
    return DecodedImage(image, size, mode)


def open_reduced(
    source: Path | BinaryIO, options: ExtractOptions, *, longest: int = 0, shortest: int = 0
) -> Image.Image:
    """Return the first frame of ``source`` shrunk to no less than ``longest``/``shortest``."""
    image = decode_image(source, options, longest=longest, shortest=shortest).image
    return shrink(image, reduction_factor(image.size, longest=longest, shortest=shortest))


def reduction_factor(size: tuple[int, int], *, longest: int = 0, shortest: int = 0) -> int:
    """Return the largest integer factor that keeps both sides at least the wanted ones."""
    factors = [max(size) // longest] if longest else []
    factors += [min(size) // shortest] if shortest else []
    return max(1, min(factors, default=1))


def shrink(image: Image.Image, factor: int) -> Image.Image:
    """Return ``image`` reduced ``factor`` times (box filter), never copying it whole."""
    if factor <= 1:
        return image
    width, height = image.size
    rows = factor * max(1, _STRIP_PIXELS // (width * factor))
    mode = _reducible_mode(image)
    reduced = Image.new(mode, (math.ceil(width / factor), math.ceil(height / factor)))
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        reduced.paste(strip.convert(mode).reduce(factor), (0, top // factor))
    return reduced


def _reducible_mode(image: Image.Image) -> str:
    """Return the mode ``image`` is reduced in: its own, or the nearest that reduce supports."""
    if image.mode in _REDUCIBLE_MODES:
        return image.mode
    if image.mode == "P":
        return "RGBA" if "transparency" in image.info else "RGB"
    if image.mode.startswith("I"):
        return "I"
    bands = image.getbands()
    return "RGBA" if "A" in bands else "L" if len(bands) == 1 else "RGB"


def _draft_size(
    size: tuple[int, int], mode: str, budget: int, longest: int, shortest: int
) -> tuple[int, int]:
    """Return the size to ask of ``Image.draft``: the JPEG scale that consumers allow, or
    the larger one the budget needs. Draft picks the largest scale whose result is not below
    the size asked, hence the original floor-divided by the scale."""
    allowed = reduction_factor(size, longest=longest, shortest=shortest)
    wanted = max(s for s in _JPEG_SCALES if s <= allowed)
    full = decoded_bytes(size, mode)
    needed = next((s for s in _JPEG_SCALES if full / (s * s) <= budget), _JPEG_SCALES[-1])
    scale = max(wanted, needed)
    return max(1, size[0] // scale), max(1, size[1] // scale)
