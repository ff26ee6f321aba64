"""Audio and video files -> transcript passages, sound windows and keyframes, on one clock.

- Audio (any container/codec FFmpeg decodes): the first audio stream is streamed in blocks
  at 16 kHz. Speech becomes text segments with start/end seconds (faster-whisper, see
  ``ingest/speech.py``); the sound becomes audio segments, one per window of
  ``audio_window_seconds`` every ``audio_hop_seconds``, that the embed stage encodes with
  CLAP from the original file (no audio is copied). Windows quieter than
  ``audio_silence_dbfs`` throughout are left out, so all-silence audio has no segments.
- Video: keyframes (first frame, scene changes, one every ``video_frame_interval_s``) become
  video_frame segments spanning until the next keyframe, embedded in the image space; the
  poster is the thumbnail; the audio track then goes through the audio path above.
A file whose header says it is longer than ``max_media_seconds`` is rejected before
decoding; one that only turns out longer is rejected when the limit is crossed. A broken
audio track in a video leaves the frames indexed and the error in ``metadata["warnings"]``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from ingest.audio_decode import Block, check_audio_format, open_media, stream_audio
from ingest.base import Extraction, ExtractOptions
from ingest.image import thumbnail_png
from ingest.keyframes import Keyframe, KeyframeOptions, keyframes
from ingest.speech import RATE, SpeechOptions, Transcript, speech_unavailable_reason
from mmrag.domain import ExtractedSegment, Locator, Modality
from mmrag.errors import BadInput

AUDIO_TYPES = (
    "audio/mpeg", "audio/x-wav", "audio/wav", "audio/x-flac", "audio/flac", "audio/ogg",
    "audio/mp4", "audio/x-m4a", "audio/aac", "audio/x-aiff", "audio/aiff", "audio/amr",
    "audio/webm", "audio/opus",
)  # fmt: skip
VIDEO_TYPES = (
    "video/mp4", "video/webm", "video/x-matroska", "video/quicktime", "video/x-msvideo",
    "video/mpeg", "video/x-m4v", "video/x-flv", "video/ogg", "video/3gpp",
)  # fmt: skip
_ENERGY_FRAME = RATE // 10  # loudness is tracked per 100 ms
_FRAME_JPEG_QUALITY = 85


def extract_av(path: Path, media_type: str, options: ExtractOptions) -> Extraction:
    """Return the extraction of an audio or video file (see the module docstring)."""
    with open_media(path) as container:
        info = _probe(container)
    if info["duration_s"] is not None and info["duration_s"] > options.max_media_seconds:
        raise BadInput(
            f"{path.name}: duration {info['duration_s']:.0f} s is over the limit of "
            f"{options.max_media_seconds:g} s (MMRAG_MAX_MEDIA_SECONDS)",
            code="media_too_long",
        )
    if not info["has_video"] and not info["has_audio"]:
        raise BadInput(f"{path.name}: holds no audio or video stream", code="media_invalid")
    extraction = Extraction(media_type=_corrected_type(media_type, info), metadata=info)
    if info["has_video"]:
        extraction.segments = _video_segments(path, options, extraction)
    else:
        extraction.segments = _audio_segments(path, options, extraction.metadata)
    return extraction


def _probe(container: av.container.InputContainer) -> dict[str, Any]:
    """Return the metadata that the header tells: duration, streams, codecs."""
    meta: dict[str, Any] = {
        "duration_s": round(container.duration / av.time_base, 3) if container.duration else None,
        "has_video": bool(container.streams.video),
        "has_audio": bool(container.streams.audio),
    }
    if container.streams.video:
        video = container.streams.video[0]
        rate = video.average_rate or video.guessed_rate
        meta["video"] = {
            "codec": video.codec_context.name,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "fps": round(float(rate), 3) if rate else None,
        }
    if container.streams.audio:
        audio = container.streams.audio[0]
        check_audio_format(audio)
        meta["audio"] = {
            "codec": audio.codec_context.name,
            "sample_rate": audio.codec_context.sample_rate,
            "channels": audio.codec_context.channels,
        }
    return meta


def _corrected_type(media_type: str, info: dict[str, Any]) -> str:
    """An MP4/WebM/Matroska/Ogg holding only sound is audio; one with pictures is video."""
    family, _, subtype = media_type.partition("/")
    if family == "video" and not info["has_video"]:
        return f"audio/{subtype}"
    if family == "audio" and info["has_video"]:
        return f"video/{subtype}"
    return media_type


def _video_segments(
    path: Path, options: ExtractOptions, extraction: Extraction
) -> Iterator[ExtractedSegment]:
    metadata = extraction.metadata
    reasons: dict[str, int] = {}
    previous: Keyframe | None = None
    with open_media(path) as container:
        try:
            for frame in keyframes(container, _keyframe_options(options)):
                reasons[frame.reason] = reasons.get(frame.reason, 0) + 1
                if previous is None:
                    extraction.thumbnail = thumbnail_png(frame.image, options.thumbnail_side)
                else:
                    yield _frame_segment(previous, frame.time_s)
                previous = frame
        except BadInput as exc:
            if previous is None or exc.code == "media_too_long":
                raise
            _warn(metadata, f"video track: {exc.message} (frames up to {previous.time_s} s kept)")
    if previous is not None:
        yield _frame_segment(previous, max(previous.time_s, metadata["duration_s"] or 0.0))
    metadata["keyframes"] = reasons
    if metadata["has_audio"]:
        try:
            yield from _audio_segments(path, options, metadata)
        except BadInput as exc:
            if exc.code == "media_too_long":
                raise
            _warn(metadata, f"audio track: {exc.message}")


def _frame_segment(frame: Keyframe, end_s: float) -> ExtractedSegment:
    out = io.BytesIO()
    frame.image.convert("RGB").save(out, format="JPEG", quality=_FRAME_JPEG_QUALITY)
    return ExtractedSegment(
        modality=Modality.VIDEO_FRAME,
        locator=Locator(start_s=frame.time_s, end_s=round(end_s, 3)),
        media=out.getvalue(),
        media_type="image/jpeg",
    )


def _audio_segments(
    path: Path, options: ExtractOptions, metadata: dict[str, Any]
) -> Iterator[ExtractedSegment]:
    """Yield transcript passages as they are heard, then the non-silent sound windows."""
    loudness = _Loudness()
    with open_media(path) as container:
        blocks = loudness.track(
            stream_audio(
                container, rate=RATE, block_seconds=30.0, max_seconds=options.max_media_seconds
            )
        )
        speech = speech_options(options)
        reason = None if options.speech else "speech transcription is off (MMRAG_SPEECH)"
        reason = reason or speech_unavailable_reason(speech)
        if reason is None:
            transcript = Transcript(speech)
            try:
                for utterance in transcript.run(blocks):
                    yield ExtractedSegment(
                        modality=Modality.TEXT,
                        text=utterance.text,
                        locator=Locator(start_s=utterance.start_s, end_s=utterance.end_s),
                    )
            except LookupError as exc:  # the model failed to load: index the sound anyway
                reason = str(exc)
            else:
                metadata["language"] = transcript.language
        if reason is not None:
            metadata["speech_skipped"] = reason
        for _ in blocks:  # what transcription did not consume still counts for loudness
            pass
    metadata["audio_duration_s"] = round(loudness.duration_s, 3)
    for start_s, end_s in loudness.windows(
        options.audio_window_seconds, options.audio_hop_seconds, options.audio_silence_dbfs
    ):
        locator = Locator(start_s=start_s, end_s=end_s)
        yield ExtractedSegment(modality=Modality.AUDIO, locator=locator)


@dataclass
class _Loudness:
    """Per-100 ms RMS levels of a stream: a few bytes per second, whatever the duration."""

    start_s: float | None = None
    levels: list[float] = field(default_factory=list)
    _rest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def track(self, blocks: Iterable[Block]) -> Iterator[Block]:
        """Pass ``blocks`` through, measuring them on the way (an iterator, consumed once)."""
        for block in blocks:
            if self.start_s is None:
                self.start_s = block.start_s
            samples = np.concatenate([self._rest, block.samples])
            whole = len(samples) // _ENERGY_FRAME * _ENERGY_FRAME
            frames = samples[:whole].reshape(-1, _ENERGY_FRAME)
            self.levels.extend(np.sqrt(np.square(frames).mean(axis=1)).tolist())
            self._rest = samples[whole:]
            yield block

    @property
    def duration_s(self) -> float:
        return (len(self.levels) * _ENERGY_FRAME + len(self._rest)) / RATE

    def windows(
        self, window_s: float, hop_s: float, silence_dbfs: float
    ) -> Iterator[tuple[float, float]]:
        """Yield (start, end) of each window with any 100 ms louder than ``silence_dbfs``.

        Windows start every ``hop_s``; the last one ends with the stream.
        """
        tail = [float(np.sqrt(np.square(self._rest).mean()))] if len(self._rest) else []
        levels = np.array(self.levels + tail)
        if not len(levels):
            return
        floor = 10 ** (silence_dbfs / 20)
        per_s = RATE / _ENERGY_FRAME
        offset, duration = self.start_s or 0.0, self.duration_s
        position = 0.0
        while True:
            end = min(position + window_s, duration)
            first = int(position * per_s)
            if levels[first : max(first + 1, math.ceil(end * per_s))].max(initial=0.0) > floor:
                yield round(offset + position, 3), round(offset + end, 3)
            if end >= duration:
                return
            position += hop_s


def _keyframe_options(options: ExtractOptions) -> KeyframeOptions:
    return KeyframeOptions(
        interval_s=options.video_frame_interval_s,
        scene_threshold=options.video_scene_threshold,
        min_scene_s=options.video_min_scene_seconds,
        side=options.video_frame_side,
        max_seconds=options.max_media_seconds,
    )


def speech_options(options: ExtractOptions) -> SpeechOptions:
    return SpeechOptions(
        model=options.speech_model,
        model_path=options.speech_model_path,
        compute_type=options.speech_compute_type,
        beam_size=options.speech_beam_size,
        vad=options.speech_vad,
        block_seconds=options.speech_block_seconds,
        offline=options.offline,
    )


def _warn(metadata: dict[str, Any], message: str) -> None:
    metadata.setdefault("warnings", []).append(message)
