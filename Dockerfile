# mmrag image: the API, the workers and the CLI (`mmrag serve`, `mmrag worker`, `mmrag ...`).
# CPU build by default; for the GPU embed workers build with
#   --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MMRAG_DATA_DIR=/data MMRAG_OFFLINE=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mmrag ./mmrag
COPY ingest ./ingest
COPY index ./index
COPY retrieve ./retrieve
COPY generate ./generate
COPY api ./api
COPY workers ./workers
RUN pip install --extra-index-url "$TORCH_INDEX" ".[offline-models]" \
    && useradd --create-home --uid 1000 mmrag && mkdir /data && chown mmrag /data
USER mmrag
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["mmrag", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
