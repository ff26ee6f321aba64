"""mmrag: self-hosted multimodal retrieval and RAG service (shared kernel)."""

__version__ = "0.1.0"
