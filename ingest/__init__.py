"""File -> segments: content sniffing, one extractor per media type, chunking.

Nothing here imports FastAPI or Celery; the entry point is :func:`ingest.extract.extract_file`.
"""
