"""Peak memory of extracting and embedding-decoding one huge-canvas PNG (issue 13 item 6).

Each measurement runs in a fresh child process so that its resident peak (VmHWM) belongs to
that one image; it prints how far the peak rose above the resident set before the step
(Pillow's pixel buffers come from C malloc, which tracemalloc does not see).

    .venv/bin/python -m bench.image_memory [--side 7999] [--ocr]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw


def make_canvas(path: Path, side: int) -> None:
    """Write a mostly transparent RGBA PNG of ``side`` x ``side`` with a line of text."""
    image = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    ImageDraw.Draw(image).text((side // 4, side // 2), "quarterly target", fill=(0, 0, 0, 255))
    image.save(path, optimize=True)


def status_kib(field: str) -> int:
    """Return ``field`` (VmRSS: resident now, VmHWM: resident peak) of this process, in KiB.

    Linux only. VmHWM rather than ru_maxrss: after fork+exec ru_maxrss starts at the parent's
    resident set.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measure(step: str, path: str, ocr: bool, queue: multiprocessing.Queue[str]) -> None:
    from ingest.base import ExtractOptions
    from ingest.image import extract_image

    options = ExtractOptions(ocr=ocr)
    before = status_kib("VmRSS")
    if step == "extract":
        extraction = extract_image(Path(path), "image/png", options)
        list(extraction.segments)
    else:
        from workers.embedding import open_for_embedding

        open_for_embedding(Path(path), options)
    grown_kib = status_kib("VmHWM") - before
    queue.put(f"{step:8s} resident peak growth {grown_kib / 1024:8.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=7999)
    parser.add_argument("--ocr", action="store_true", help="run OCR too (slow on a loaded box)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "canvas.png"
        make_canvas(path, args.side)
        print(f"{args.side}x{args.side} RGBA PNG of {path.stat().st_size / 1024:.0f} KiB")
        context = multiprocessing.get_context("spawn")
        for step in ("extract", "embed"):
            queue: multiprocessing.Queue[str] = context.Queue()
            child = context.Process(target=_measure, args=(step, str(path), args.ocr, queue))
            child.start()
            child.join()
            print(queue.get() if child.exitcode == 0 else f"{step}: child exited {child.exitcode}")


if __name__ == "__main__":
    main()
