#!/usr/bin/env bash
# Makes .tools/torch-venv with PyPI's current torch, the reference `make bench` times the ViT against.
# For the benchmark only, not a dependency of the product. Idempotent; exits 0 when it cannot install
# (the bench then prints the issue's PyTorch figures instead and says so).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/torch-venv"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv" && "$venv/bin/pip" install -q torch numpy \
  || echo "bench: could not install torch into $venv; the bench will print the issue's PyTorch figures" >&2
exit 0
