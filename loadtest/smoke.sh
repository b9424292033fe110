#!/usr/bin/env bash
# `make loadtest-smoke`: starts the mesh on loopback with the small demo checkpoint (ports of its own, so a
# `make run` mesh can stay up), runs the bounded smoke profile against it, prints the summary and stops the mesh,
# whatever happens. Fails when a threshold of loadtest/profiles/smoke.json is breached.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-tools.sh loadtest
(cd loadtest && GOTOOLCHAIN=local go test ./...)

export MESH_RUN_DIR="$root/.run/loadtest-smoke" DEMO_SHAPE=small
unset MODEL_DIR
export GATEWAY_HTTP_PORT=28080 GATEWAY_GRPC_PORT=28081 VISION_GRPC_PORT=28051 VISION_METRICS_PORT=28091 \
       LLM_GRPC_PORT=28052 LLM_METRICS_PORT=28092
trap 'scripts/run-mesh.sh --stop' EXIT
start=$SECONDS
scripts/run-mesh.sh --detach > /dev/null
echo "loadtest-smoke: mesh ready in $((SECONDS - start))s (logs in $MESH_RUN_DIR)"
.tools/bin/meshload -profile loadtest/profiles/smoke.json \
  -gateway "http://127.0.0.1:$GATEWAY_HTTP_PORT" -grpc "127.0.0.1:$GATEWAY_GRPC_PORT" "$@"
