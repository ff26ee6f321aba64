"""Images: segment bytes, EXIF, thumbnails, corrupt files and decompression bombs."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from ingest.base import ExtractOptions
from ingest.extract import extract_file
from mmrag.domain import Modality
from mmrag.errors import BadInput


def _png_header_only(width: int, height: int) -> bytes:
    """Return a PNG whose IHDR claims ``width`` x ``height`` (1-bit) with a tiny body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _code(path: Path, options: ExtractOptions) -> str:
    with pytest.raises(BadInput) as info:
        list(extract_file(path, options).segments)
    return info.value.code


def test_png_segment_and_thumbnail(
    tmp_path: Path, options: ExtractOptions, png_factory: Callable[..., bytes]
) -> None:
    data = png_factory((800, 400))
    path = tmp_path / "chart.dat"
    path.write_bytes(data)
    extraction = extract_file(path, options)
    assert extraction.media_type == "image/png"
    assert extraction.metadata["width"] == 800 and extraction.metadata["height"] == 400
    segments = list(extraction.segments)
    assert len(segments) == 1
    assert segments[0].modality == Modality.IMAGE
    assert segments[0].media == data and segments[0].media_type == "image/png"
    assert segments[0].locator.bbox == (0.0, 0.0, 800.0, 400.0)
    assert extraction.thumbnail is not None
    with Image.open(io.BytesIO(extraction.thumbnail)) as thumb:
        assert thumb.size == (256, 128)


def test_jpeg_exif(tmp_path: Path, options: ExtractOptions) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Acme Cameras"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0132] = "2024:05:01 10:00:00"  # DateTime
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (320, 240), "green").save(path, format="JPEG", exif=exif)
    extraction = extract_file(path, options)
    assert extraction.media_type == "image/jpeg"
    assert extraction.metadata["exif"]["Make"] == "Acme Cameras"
    assert extraction.metadata["exif"]["DateTime"] == "2024:05:01 10:00:00"
    segment = next(iter(extraction.segments))
    assert segment.media_type == "image/jpeg" and segment.media == path.read_bytes()


def test_bmp_is_reencoded_as_png(tmp_path: Path, options: ExtractOptions) -> None:
    path = tmp_path / "old.bmp"
    Image.new("RGB", (100, 80), "blue").save(path, format="BMP")
    segment = next(iter(extract_file(path, options).segments))
    assert segment.media_type == "image/png" and segment.media
    assert segment.media.startswith(b"\x89PNG")


def test_corrupt_image(
    tmp_path: Path, options: ExtractOptions, png_factory: Callable[..., bytes]
) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(png_factory((300, 300))[:120])
    assert _code(path, options) == "image_corrupt"


def test_decompression_bomb_refused_from_header(tmp_path: Path, options: ExtractOptions) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    assert path.stat().st_size < 200
    assert _code(path, options) == "image_too_large"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_image_over_configured_limit(tmp_path: Path, png_factory: Callable[..., bytes]) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(png_factory((400, 300)))
    assert _code(path, ExtractOptions(ocr=False, max_image_pixels=100_000)) == "image_too_large"
