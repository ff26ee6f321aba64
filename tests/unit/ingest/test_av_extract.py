"""Audio and video extraction on media made in the test: espeak-ng speech, PyAV-encoded files."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from ingest.audio_decode import read_span, stream_audio
from ingest.base import ExtractOptions
from ingest.extract import extract_file
from mmrag.domain import ExtractedSegment, Modality
from mmrag.errors import BadInput
from tests.media_av import RATE, speech_track, write_audio, write_video, write_wav

SENTENCES = [
    "Please remember to water the tomato plants.",
    "The library closes early on Friday evening.",
]
FPS = 10
SCENES = [((150, 20, 20), 3.0), ((120, 240, 120), 3.0), ((20, 20, 110), 3.0)]


@pytest.fixture
def av_options() -> ExtractOptions:
    return ExtractOptions(offline=True, ocr=False, audio_window_seconds=4, audio_hop_seconds=2)


def run(path: Path, options: ExtractOptions) -> tuple[str, dict, list[ExtractedSegment]]:  # type: ignore[type-arg]
    extraction = extract_file(path, options)
    segments = list(extraction.segments)  # metadata is complete once segments are pulled
    return extraction.media_type, extraction.metadata, segments


def texts(segments: list[ExtractedSegment]) -> list[ExtractedSegment]:
    return [s for s in segments if s.modality == Modality.TEXT]


def overlaps(segment: ExtractedSegment, span: tuple[float, float], slack: float = 1.0) -> bool:
    start, end = segment.locator.start_s, segment.locator.end_s
    assert start is not None and end is not None
    return start <= span[1] + slack and span[0] - slack <= end


def test_speech_is_transcribed_at_the_right_times(
    tmp_path: Path, av_options: ExtractOptions
) -> None:
    spoken = speech_track(SENTENCES, gap_s=2.0)
    media_type, meta, segments = run(write_wav(tmp_path / "talk.wav", spoken.samples), av_options)
    assert media_type == "audio/x-wav" and meta["language"] == "en"
    assert meta["duration_s"] == pytest.approx(spoken.seconds, abs=0.05)
    transcript = texts(segments)
    tomato = [s for s in transcript if "tomato" in s.text.lower()]
    library = [s for s in transcript if "library" in s.text.lower()]
    assert tomato and library, [s.text for s in transcript]
    assert overlaps(tomato[0], spoken.spans[0]) and not overlaps(tomato[0], spoken.spans[1], 0)
    assert overlaps(library[0], spoken.spans[1]) and not overlaps(library[0], spoken.spans[0], 0)
    windows = [s for s in segments if s.modality == Modality.AUDIO]
    assert windows and all(s.media is None for s in windows)  # cut from the original later
    assert [w.locator.start_s for w in windows] == [2.0 * i for i in range(len(windows))]
    assert windows[-1].locator.end_s == pytest.approx(spoken.seconds, abs=0.05)


@pytest.mark.parametrize(
    ("codec", "name", "sniffed"),
    [
        ("libmp3lame", "a.mp3", "audio/mpeg"),
        ("flac", "a.flac", "audio/x-flac"),
        ("libopus", "a.ogg", "audio/ogg"),
        ("aac", "a.m4a", "audio/mp4"),
    ],
)
def test_compressed_audio_formats(
    tmp_path: Path, av_options: ExtractOptions, codec: str, name: str, sniffed: str
) -> None:
    spoken = speech_track(SENTENCES[:1])
    rate = 48_000 if codec == "libopus" else RATE
    samples = np.interp(
        np.arange(0, len(spoken.samples), RATE / rate),
        np.arange(len(spoken.samples)),
        spoken.samples,
    ).astype(np.float32)
    path = write_audio(tmp_path / name, samples, codec, rate=rate)
    media_type, meta, segments = run(path, av_options)
    assert media_type == sniffed and meta["has_audio"] and not meta["has_video"]
    assert any("remember" in s.text.lower() for s in texts(segments)), [s.text for s in segments]


def test_silence_and_empty_audio_index_without_segments(
    tmp_path: Path, av_options: ExtractOptions
) -> None:
    silent = write_wav(tmp_path / "silent.wav", np.zeros(RATE * 5, np.float32))
    _, meta, segments = run(silent, av_options)
    assert segments == [] and "speech_skipped" not in meta and meta["audio_duration_s"] == 5.0
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    _, meta, segments = run(empty, av_options)
    assert segments == [] and meta["audio_duration_s"] == 0.0


def test_video_keyframes_land_on_scene_changes(tmp_path: Path, av_options: ExtractOptions) -> None:
    spoken = speech_track(SENTENCES[:1], lead_s=3.5)
    track = np.concatenate([spoken.samples, np.zeros(RATE * 9, np.float32)])[: RATE * 9]
    path = write_video(tmp_path / "clip.mp4", SCENES, fps=FPS, audio=track)
    options = ExtractOptions(**{**av_options.__dict__, "video_frame_interval_s": 2.5})
    extraction = extract_file(path, options)
    segments = list(extraction.segments)
    meta = extraction.metadata
    assert extraction.media_type == "video/mp4" and extraction.thumbnail
    assert meta["video"] == {"codec": "h264", "width": 160, "height": 120, "fps": 10.0}
    assert meta["duration_s"] == pytest.approx(9.0, abs=0.1)
    frames = [s for s in segments if s.modality == Modality.VIDEO_FRAME]
    starts = [f.locator.start_s for f in frames]
    assert starts[0] == 0.0
    for cut in (3.0, 6.0):  # a keyframe within one frame interval of each scene change
        assert any(abs(t - cut) <= 1 / FPS + 1e-6 for t in starts if t is not None), starts
    assert meta["keyframes"]["scene"] == 2 and meta["keyframes"]["interval"] >= 1
    assert all(f.media and f.media_type == "image/jpeg" for f in frames)
    ends = [f.locator.end_s for f in frames]
    assert ends[:-1] == starts[1:] and ends[-1] == pytest.approx(9.0, abs=0.1)
    tomato = [s for s in texts(segments) if "tomato" in s.text.lower()]
    assert tomato and overlaps(tomato[0], spoken.spans[0])  # same clock as the frames


def test_video_without_sound_and_mp4_without_pictures(
    tmp_path: Path, av_options: ExtractOptions
) -> None:
    media_type, meta, segments = run(write_video(tmp_path / "mute.mp4", SCENES[:2]), av_options)
    assert media_type == "video/mp4" and not meta["has_audio"]
    assert {s.modality for s in segments} == {Modality.VIDEO_FRAME}
    spoken = speech_track(SENTENCES[:1])
    media_type, meta, segments = run(
        write_audio(tmp_path / "voice.mp4", spoken.samples, "aac"), av_options
    )
    assert media_type == "audio/mp4" and not meta["has_video"]
    assert Modality.TEXT in {s.modality for s in segments}


def test_broken_audio_track_keeps_the_frames_and_records_why(
    tmp_path: Path, av_options: ExtractOptions
) -> None:
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, RATE * 4).astype(np.float32)
    source = write_video(tmp_path / "base.mp4", SCENES[:2], audio=noise)
    broken = tmp_path / "broken.mkv"
    rng = np.random.default_rng(1)
    with av.open(str(source)) as inp, av.open(str(broken), "w") as out:
        video_in, audio_in = inp.streams.video[0], inp.streams.audio[0]
        video_out = out.add_stream_from_template(video_in)
        audio_out = out.add_stream_from_template(audio_in)
        for packet in inp.demux():
            if packet.dts is None:
                continue
            if packet.stream is audio_in:  # same timing, garbage payload
                junk = av.Packet(rng.integers(0, 256, packet.size).astype(np.uint8).tobytes())
                junk.pts, junk.dts, junk.time_base = packet.pts, packet.dts, packet.time_base
                junk.stream = audio_out
                out.mux(junk)
            else:
                packet.stream = video_out
                out.mux(packet)
    _, meta, segments = run(broken, av_options)
    assert [s.modality for s in segments] == [Modality.VIDEO_FRAME] * 2
    assert any(w.startswith("audio track:") for w in meta["warnings"])


def test_bad_media_is_rejected_with_a_reason(tmp_path: Path, av_options: ExtractOptions) -> None:
    video = write_video(tmp_path / "ok.mp4", SCENES[:1])
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(BadInput) as info:
        run(truncated, av_options)
    assert info.value.code == "media_invalid"

    liar = tmp_path / "film.mp4"
    liar.write_text("Meeting notes, not a film at all.\n")
    media_type, _, segments = run(liar, av_options)
    assert media_type == "text/plain" and "Meeting notes" in segments[0].text

    long_audio = write_wav(tmp_path / "long.wav", np.zeros(RATE * 6, np.float32))
    short_limit = ExtractOptions(**{**av_options.__dict__, "max_media_seconds": 5.0})
    with pytest.raises(BadInput) as info:
        run(long_audio, short_limit)
    assert info.value.code == "media_too_long" and "MMRAG_MAX_MEDIA_SECONDS" in info.value.message


@pytest.mark.parametrize(("rate", "channels"), [(1_000_000_000, 1), (16_000, 1000), (0, 1)])
def test_absurd_sample_rate_or_channel_count(
    tmp_path: Path, av_options: ExtractOptions, rate: int, channels: int
) -> None:
    pcm = b"\0\0" * channels * 1600
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, channels, rate,
        rate * channels * 2 % 2**32, channels * 2, 16, b"data", len(pcm),
    )  # fmt: skip
    path = tmp_path / "absurd.wav"
    path.write_bytes(header + pcm)
    with pytest.raises(BadInput) as info:
        run(path, av_options)
    assert info.value.code in {"audio_invalid", "media_invalid"}


def test_streaming_decode_holds_one_block_and_spans_cut_from_the_file(tmp_path: Path) -> None:
    tone = np.sin(np.arange(RATE * 20) / RATE * 2 * np.pi * 440).astype(np.float32) * 0.5
    path = write_wav(tmp_path / "tone.wav", tone)
    with av.open(str(path)) as container:
        blocks = list(stream_audio(container, rate=RATE, block_seconds=3.0, max_seconds=60))
    assert {len(b.samples) for b in blocks[:-1]} == {RATE * 3}
    assert [b.start_s for b in blocks] == [3.0 * i for i in range(len(blocks))]
    assert sum(len(b.samples) for b in blocks) == len(tone)
    span = read_span(path, 12.0, 15.0, rate=RATE)
    assert span.start_s <= 12.0 and span.start_s + len(span.samples) / RATE >= 15.0
    first = round((12.0 - span.start_s) * RATE)
    assert np.allclose(
        span.samples[first : first + 100], tone[12 * RATE : 12 * RATE + 100], atol=1e-3
    )
