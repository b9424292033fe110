#!/usr/bin/env bash
# Starts the whole mesh on loopback: vision-service, llm-service and gateway, each a process of its own, on the
# model in MODEL_DIR (default: a small demo checkpoint generated once into models/). Waits until the gateway is
# ready, prints a curl example, and stops everything on Ctrl-C (or SIGTERM). With LLM_SHARDS=N (N > 1) the
# language tier runs as N layer-shard processes (bin/llm-shard, ports LLM_SHARD_BASE_PORT + i) behind llm-service.
#
#   scripts/run-mesh.sh            run in the foreground
#   scripts/run-mesh.sh --detach   start, wait until ready, print the example and return (stop: scripts/run-mesh.sh --stop)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
run_dir="${MESH_RUN_DIR:-$root/.run}"
mkdir -p "$run_dir"

stop_all() {
  for pidfile in "$run_dir"/*.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}
if [ "${1:-}" = "--stop" ]; then
  stop_all
  exit 0
fi

if [ -z "${MODEL_DIR:-}" ]; then
  MODEL_DIR="$root/models/demo-${DEMO_SHAPE:-small}"
  if [ ! -f "$MODEL_DIR/config.json" ]; then
    echo "no MODEL_DIR given: generating a demo checkpoint (shape ${DEMO_SHAPE:-small}, random weights) in $MODEL_DIR" >&2
    bin/internvl demo-checkpoint --shape "${DEMO_SHAPE:-small}" --out "$MODEL_DIR" >&2
  fi
fi
export MODEL_DIR
export VISION_GRPC_PORT="${VISION_GRPC_PORT:-50051}" VISION_METRICS_PORT="${VISION_METRICS_PORT:-9091}"
export LLM_GRPC_PORT="${LLM_GRPC_PORT:-50052}" LLM_METRICS_PORT="${LLM_METRICS_PORT:-9092}"
export GATEWAY_HTTP_PORT="${GATEWAY_HTTP_PORT:-8080}"
export VISION_ADDR="127.0.0.1:$VISION_GRPC_PORT" LLM_ADDR="127.0.0.1:$LLM_GRPC_PORT"
model_name="${GATEWAY_MODEL_NAME:-$(basename "$MODEL_DIR")}"

stop_all
trap 'stop_all; exit 130' INT TERM
tiers="vision-service llm-service gateway"
shards="${LLM_SHARDS:-1}"
if [ "$shards" -gt 1 ]; then
  addrs=""
  for ((i = 0; i < shards; i++)); do
    port=$((${LLM_SHARD_BASE_PORT:-50060} + i))
    LLM_SHARD_INDEX=$i LLM_SHARD_PORT=$port LLM_SHARD_METRICS_PORT=$((9160 + i)) \
      bin/llm-shard > "$run_dir/llm-shard-$i.log" 2>&1 &
    echo $! > "$run_dir/llm-shard-$i.pid"
    tiers="$tiers llm-shard-$i"
    addrs="${addrs:+$addrs,}127.0.0.1:$port"
  done
  export LLM_SHARD_ADDRS="$addrs" LLM_SHARDS="$shards"
fi
for tier in vision-service llm-service gateway; do
  bin/$tier > "$run_dir/$tier.log" 2>&1 &
  echo $! > "$run_dir/$tier.pid"
done

deadline=$((SECONDS + ${MESH_START_TIMEOUT:-300}))
until curl -sf "http://127.0.0.1:$GATEWAY_HTTP_PORT/health/ready" 2>/dev/null | grep -q '"vision":"up"'; do
  for tier in $tiers; do
    if ! kill -0 "$(cat "$run_dir/$tier.pid")" 2>/dev/null; then
      echo "error: $tier exited during start-up; its log ($run_dir/$tier.log) ends with:" >&2
      tail -20 "$run_dir/$tier.log" >&2
      stop_all
      exit 1
    fi
  done
  if [ $SECONDS -ge $deadline ]; then
    echo "error: the mesh was not ready after ${MESH_START_TIMEOUT:-300}s; logs are in $run_dir" >&2
    stop_all
    exit 1
  fi
  sleep 1
done

cat <<EOF2
The mesh is up: gateway http://127.0.0.1:$GATEWAY_HTTP_PORT (model '$model_name'), logs in $run_dir.
Ask it about an image (streamed answer):

curl -N http://127.0.0.1:$GATEWAY_HTTP_PORT/v1/chat/completions -H 'Content-Type: application/json' -d @- <<JSON
{"model": "$model_name", "stream": true, "max_tokens": 64,
 "messages": [{"role": "user", "content": [
   {"type": "image_url", "image_url": {"url": "data:image/png;base64,\$(base64 -w0 $root/testdata/golden/images/chelsea.png)"}},
   {"type": "text", "text": "Describe the image."}]}]}
JSON

Health: /health/ready, /health/live; metrics: /metrics (gateway), :$LLM_METRICS_PORT/metrics, :$VISION_METRICS_PORT/metrics.
EOF2

if [ "${1:-}" = "--detach" ]; then
  trap - INT TERM
  exit 0
fi
echo "Ctrl-C stops the mesh."
wait
