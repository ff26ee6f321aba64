"""Keyframes of a video: the first frame, every scene change, and at least one every N seconds.

Frames are decoded once with PyAV; each is scaled down to a small BGR image for
PySceneDetect's content detector (HSV distance between consecutive frames, the cut reported
on the frame where the new scene starts), and kept at ``side`` pixels when chosen. Times are
on the container's clock, the same one the audio track's transcript uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import av
from PIL import Image
from scenedetect import FrameTimecode
from scenedetect.detector import FlashFilter
from scenedetect.detectors import ContentDetector

from ingest.audio_decode import container_start
from mmrag.errors import BadInput

DETECT_WIDTH = 160  # scene detection works on frames this wide: cheap, and enough for cuts


@dataclass(frozen=True)
class Keyframe:
    time_s: float
    image: Image.Image
    reason: str  # "start", "scene" or "interval"


@dataclass(frozen=True)
class KeyframeOptions:
    interval_s: float = 10.0
    scene_threshold: float = 27.0
    min_scene_s: float = 1.0
    side: int = 512
    max_seconds: float = 4 * 3600.0


def keyframes(
    container: av.container.InputContainer, options: KeyframeOptions
) -> Iterator[Keyframe]:
    """Yield the keyframes of the first video stream of ``container`` in time order.

    Raises :class:`BadInput`: ``video_invalid`` when the stream cannot be decoded (after the
    frames decoded so far were yielded) and ``media_too_long`` past ``options.max_seconds``.
    """
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    fps = float(stream.average_rate or stream.guessed_rate or 25)
    detector = ContentDetector(
        threshold=options.scene_threshold,
        min_scene_len=float(options.min_scene_s),
        filter_mode=FlashFilter.Mode.SUPPRESS,
    )
    start = container_start(container)
    last: float | None = None
    try:
        for index, frame in enumerate(container.decode(stream)):
            time_s = max(0.0, frame.time - start if frame.time is not None else index / fps)
            if time_s > options.max_seconds:
                raise BadInput(
                    f"media is longer than the limit of {options.max_seconds:g} s",
                    code="media_too_long",
                )
            small = frame.to_ndarray(
                width=DETECT_WIDTH, height=_even(DETECT_WIDTH * frame.height / frame.width),
                format="bgr24",
            )  # fmt: skip
            cut = bool(detector.process_frame(FrameTimecode(index, fps=fps), small))
            reason = _reason(last, time_s, cut, options.interval_s)
            if reason:
                yield Keyframe(round(time_s, 3), _image(frame, options.side), reason)
                last = time_s
    except av.FFmpegError as exc:
        raise BadInput(f"video stream not decodable: {exc}", code="video_invalid") from exc


def _reason(last: float | None, time_s: float, cut: bool, interval_s: float) -> str | None:
    if last is None:
        return "start"
    if cut:
        return "scene"
    if time_s - last >= interval_s:
        return "interval"
    return None


def _image(frame: av.VideoFrame, side: int) -> Image.Image:
    scale = min(1.0, side / max(frame.width, frame.height))
    if scale == 1.0:
        return frame.to_image()
    return frame.to_image(width=_even(frame.width * scale), height=_even(frame.height * scale))


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)
