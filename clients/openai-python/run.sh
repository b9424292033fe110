#!/usr/bin/env bash
# Runs the official OpenAI Python client's tests against a mesh this script starts on loopback (and stops).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="$root/.tools/venv"
if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r clients/openai-python/requirements.txt
fi
export MESH_RUN_DIR="$root/.run/openai-client" DEMO_SHAPE="${DEMO_SHAPE:-tiny}"
export GATEWAY_HTTP_PORT="${GATEWAY_HTTP_PORT:-18080}" VISION_GRPC_PORT=18051 VISION_METRICS_PORT=18091 \
       LLM_GRPC_PORT=18052 LLM_METRICS_PORT=18092 GATEWAY_GRPC_PORT=18081
trap 'scripts/run-mesh.sh --stop' EXIT
scripts/run-mesh.sh --detach > /dev/null
export GATEWAY_URL="http://127.0.0.1:$GATEWAY_HTTP_PORT" MODEL_NAME="${GATEWAY_MODEL_NAME:-demo-$DEMO_SHAPE}"
"$venv/bin/pytest" -q clients/openai-python
