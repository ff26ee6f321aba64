"""Decoding within a memory budget: huge canvases, reduced JPEGs, strip-wise shrinking."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ingest.base import ExtractOptions
from ingest.extract import extract_file
from ingest.image_decode import EMBED_MIN_SIDE, decoded_bytes, open_reduced, shrink
from mmrag.errors import BadInput

CANVAS = (7999, 7999)  # the 250 KB RGBA PNG, under the 64 Mpx pixel limit
MIB = 1024 * 1024

# Runs one step in a fresh interpreter and prints how far its resident peak rose above the
# resident set before the step (Pillow's pixels come from C malloc: tracemalloc misses them).
# VmHWM, not ru_maxrss: after fork+exec Linux's ru_maxrss starts at the parent's resident set.
_PEAK_PROBE = """
import sys
from pathlib import Path
from ingest.base import ExtractOptions
from ingest.extract import extract_file
from ingest.image_decode import EMBED_MIN_SIDE, open_reduced

def status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

step, path = sys.argv[1], Path(sys.argv[2])
options = ExtractOptions(ocr=False)
before = status_kib("VmRSS")
if step == "extract":
    list(extract_file(path, options).segments)
else:
    open_reduced(path, options, shortest=EMBED_MIN_SIDE).convert("RGB")
print((status_kib("VmHWM") - before) * 1024)
"""


@pytest.fixture(scope="module")
def canvas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a mostly transparent RGBA PNG of CANVAS pixels: a few hundred KB of file."""
    image = Image.new("RGBA", CANVAS, (255, 255, 255, 0))
    ImageDraw.Draw(image).rectangle((100, 100, 900, 300), fill=(0, 0, 0, 255))
    path = tmp_path_factory.mktemp("canvas") / "canvas.png"
    image.save(path)
    return path


def _peak_growth(step: str, path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_PROBE, step, str(path)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3],
    )  # fmt: skip
    return int(done.stdout.strip())


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("step", ["extract", "embed"])
def test_huge_canvas_holds_one_decoded_copy(canvas: Path, step: str) -> None:
    # One full decode (what the budget bounds) plus the shrunk working copy and strips. Before
    # the fix extraction peaked at ~3.8 full copies (979 MiB), the embed decode at ~1.9.
    full = decoded_bytes(CANVAS, "RGBA")
    assert _peak_growth(step, canvas) < full * 1.5


def test_png_over_decode_budget_is_refused_naming_the_setting(canvas: Path) -> None:
    options = ExtractOptions(ocr=False, max_image_decode_bytes=100 * MIB)
    with pytest.raises(BadInput) as info:
        list(extract_file(canvas, options).segments)
    assert info.value.code == "image_too_large"
    assert "MMRAG_MAX_IMAGE_DECODE_BYTES" in info.value.message
    assert f"{decoded_bytes(CANVAS, 'RGBA')} bytes" in info.value.message


def test_jpeg_over_decode_budget_is_decoded_reduced(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    image = Image.new("RGB", (4000, 3000), "navy")
    ImageDraw.Draw(image).rectangle((1000, 1000, 3000, 2000), fill="orange")
    image.save(path, quality=90)
    budget = decoded_bytes((4000, 3000), "RGB") // 10
    extraction = extract_file(path, ExtractOptions(ocr=False, max_image_decode_bytes=budget))
    (segment,) = list(extraction.segments)
    assert (extraction.metadata["width"], extraction.metadata["height"]) == (4000, 3000)
    assert segment.locator.bbox == (0.0, 0.0, 4000.0, 3000.0)
    assert segment.media == path.read_bytes()
    reduced = open_reduced(path, ExtractOptions(max_image_decode_bytes=budget))
    assert decoded_bytes(reduced.size, reduced.mode) <= budget
    middle = reduced.convert("RGB").getpixel((reduced.width // 2, reduced.height // 2))
    assert isinstance(middle, tuple) and middle[0] > 200 and middle[2] < 80  # still orange


def test_query_sized_decode_keeps_the_embedder_input(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.new("RGB", (6000, 1500), "teal").save(path)
    reduced = open_reduced(path, ExtractOptions(), shortest=EMBED_MIN_SIDE)
    assert reduced.size == (2000, 500)  # factor 3: the short side stays >= EMBED_MIN_SIDE


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "P"])
def test_shrink_in_strips_equals_a_whole_reduce(mode: str) -> None:
    image = Image.effect_mandelbrot((1201, 2999), (-2.0, -1.5, 1.0, 1.5), 100).convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    whole = image.convert("RGB" if mode == "P" else mode).reduce(3)
    strips = shrink(image, 3)
    assert strips.size == whole.size == (401, 1000)
    assert strips.tobytes() == whole.tobytes()


def test_thumbnail_of_huge_canvas_comes_from_the_shrunk_copy(canvas: Path) -> None:
    extraction = extract_file(canvas, ExtractOptions(ocr=False))
    list(extraction.segments)
    assert extraction.thumbnail is not None
    with Image.open(io.BytesIO(extraction.thumbnail)) as thumb:
        assert thumb.size == (256, 256) and thumb.mode == "RGBA"


@pytest.mark.parametrize("image_format", ["JPEG", "TIFF"])
def test_exif_rotation_of_a_shrunk_image(tmp_path: Path, image_format: str) -> None:
    image = Image.new("RGB", (5000, 2500), "white")
    ImageDraw.Draw(image).rectangle((0, 0, 2500, 2500), fill="black")  # the left half
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: displayed a quarter turn clockwise
    path = tmp_path / f"turned.{image_format.lower()}"
    image.save(path, format=image_format, exif=exif)
    extraction = extract_file(path, ExtractOptions(ocr=False))
    (segment,) = list(extraction.segments)
    assert (extraction.metadata["width"], extraction.metadata["height"]) == (2500, 5000)
    assert segment.locator.bbox == (0.0, 0.0, 2500.0, 5000.0)
    assert extraction.thumbnail is not None
    with Image.open(io.BytesIO(extraction.thumbnail)) as thumb:
        assert thumb.size == (128, 256)
        top, bottom = thumb.convert("L").getpixel((64, 10)), thumb.convert("L").getpixel((64, 246))
        assert isinstance(top, int) and isinstance(bottom, int) and top < 60 < 200 < bottom
