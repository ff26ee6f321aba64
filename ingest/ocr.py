"""OCR of images with RapidOCR (PP-OCR ONNX models shipped in the wheel).

The engine loads lazily, once per process, under a lock. When ``rapidocr_onnxruntime`` is
not installed (or fails to load) :func:`ocr_available` is False and
:func:`ocr_unavailable_reason` says why; extractors then skip OCR and record the reason in
the document metadata instead of failing.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from typing import Any

from PIL import Image

from ingest.layout import BBox, TextBlock

# Inputs are downscaled to this longest side: bounded time and memory, enough for text.
MAX_OCR_SIDE = 2400
MIN_CONFIDENCE = 0.5

_lock = threading.Lock()
_engine: Any = None
_failure: str | None = None


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: its text, box in input-image pixels, and confidence (0-1)."""

    text: str
    bbox: BBox
    confidence: float

    def as_block(self, scale: float = 1.0) -> TextBlock:
        """Return the line as a :class:`TextBlock` with its bbox multiplied by ``scale``."""
        x0, y0, x1, y1 = self.bbox
        return TextBlock(self.text, (x0 * scale, y0 * scale, x1 * scale, y1 * scale))


def ocr_available() -> bool:
    """Return True when the OCR engine is installed and has not failed to load.

    Cheap: the models load on the first :func:`ocr_image`, so a process that never meets a
    scanned page or an image never pays for them.
    """
    return ocr_unavailable_reason() is None


def ocr_unavailable_reason() -> str | None:
    """Return why OCR is unavailable, or None when it works (or has not been tried yet)."""
    if _failure is not None or _engine is not None:
        return _failure
    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        return "rapidocr-onnxruntime is not installed; install mmrag[offline-models]"
    return None


def ocr_image(image: Image.Image) -> list[OcrLine]:
    """Return the text lines found in ``image`` (empty if OCR is unavailable), top to bottom."""
    engine = _load_engine()
    if engine is None:
        return []
    scaled, factor = _bounded(image.convert("RGB"))
    result, _ = engine(_to_array(scaled))
    lines = [_line(item, 1.0 / factor) for item in result or []]
    return [line for line in lines if line.text.strip() and line.confidence >= MIN_CONFIDENCE]


def _load_engine() -> Any:
    """Return the process-wide RapidOCR engine, loading it on first use; None if unusable."""
    global _engine, _failure
    if _engine is not None or _failure is not None:
        return _engine
    with _lock:
        if _engine is None and _failure is None:
            try:
                from rapidocr_onnxruntime import RapidOCR

                _engine = RapidOCR()
            except ImportError as exc:
                _failure = (
                    f"rapidocr-onnxruntime is not installed ({exc}); install mmrag[offline-models]"
                )
            except Exception as exc:  # a broken install must not take extraction down
                _failure = f"OCR engine failed to load: {exc!r}"
    return _engine


def _bounded(image: Image.Image) -> tuple[Image.Image, float]:
    """Return ``image`` downscaled to at most MAX_OCR_SIDE and the scale factor applied."""
    side = max(image.size)
    if side <= MAX_OCR_SIDE:
        return image, 1.0
    factor = MAX_OCR_SIDE / side
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS), factor


def _to_array(image: Image.Image) -> Any:
    """Return ``image`` as the BGR uint8 array that RapidOCR (OpenCV) expects."""
    import numpy as np

    return np.asarray(image)[:, :, ::-1].copy()


def _line(item: Any, scale: float) -> OcrLine:
    """Return an :class:`OcrLine` from one RapidOCR result ``[quad, text, score]``."""
    quad, text, score = item
    xs = [float(p[0]) * scale for p in quad]
    ys = [float(p[1]) * scale for p in quad]
    bbox = (round(min(xs), 2), round(min(ys), 2), round(max(xs), 2), round(max(ys), 2))
    return OcrLine(text=str(text), bbox=bbox, confidence=float(score))
