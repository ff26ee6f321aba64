#!/usr/bin/env bash
# Seconds from `mmrag serve` to /healthz and the first search's latency, with the API's
# warm-before-serving wait off (0) and on (60), in the same run. Offline, fresh data dirs,
# no worker; prints one line per setting.
set -euo pipefail
cd "$(dirname "$0")/.."
for warm in 0 60; do
  dir=$(mktemp -d) port=$((18000 + warm))
  start=$(date +%s.%N)
  MMRAG_OFFLINE=1 MMRAG_WARM_BEFORE_SERVING_S=$warm .venv/bin/mmrag serve --no-worker \
    --data-dir "$dir/data" --port "$port" >"$dir/log" 2>&1 &
  pid=$!
  until curl -sf "localhost:$port/healthz" >/dev/null; do sleep 0.1; done
  up=$(date +%s.%N)
  curl -sf -X POST "localhost:$port/v1/collections" -H 'content-type: application/json' \
    -d '{"name": "c"}' >/dev/null
  first=$(curl -s -o /dev/null -w '%{time_total}' -X POST "localhost:$port/v1/search" \
    -H 'content-type: application/json' -d '{"collection": "c", "query": {"text": "cooling"}}')
  printf 'warm_before_serving_s=%-3s /healthz after %.1f s, first search %.2f s\n' \
    "$warm" "$(echo "$up - $start" | bc)" "$first"
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
done
