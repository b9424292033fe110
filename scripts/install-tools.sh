#!/usr/bin/env bash
# Installs the pinned tools of `make deploy-check` and the load tests into .tools/ (git-ignored), once: a tool whose
# pinned version is already there is kept, so CI on a warm machine installs nothing. Needs Go and Python 3; the
# downloads come from the Go module proxy and PyPI, nothing else, and nothing is fetched when the checks run.
#
#   scripts/install-tools.sh deploy     kustomize, kubeconform, composecheck, the Python venv (schemas, hadolint)
#   scripts/install-tools.sh loadtest   meshload (the load generator in loadtest/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
stamps="$tools/stamps"
mkdir -p "$bin" "$stamps"

KUSTOMIZE_VERSION=v5.8.2
KUBECONFORM_VERSION=v0.8.0

for needed in go python3; do
  command -v "$needed" >/dev/null || { echo "error: $needed is needed to install the deploy and load-test tools" >&2; exit 1; }
done
# Build with the machine's Go, never a downloaded toolchain.
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

go_install() { # module@version, binary name
  local stamp="$stamps/$2@${1##*@}"
  if [ -x "$bin/$2" ] && [ -f "$stamp" ]; then return; fi
  echo "installing $1 into .tools/bin" >&2
  GOBIN="$bin" go install "$1"
  rm -f "$stamps/$2@"*
  touch "$stamp"
}

go_build() { # directory of a Go main package in this repository, binary name; go's build cache makes it cheap
  (cd "$root/$1" && go build -o "$bin/$2" .)
}

python_venv() {
  local requirements="$root/deploy/check/requirements.txt"
  local stamp="$stamps/venv-$(sha256sum "$requirements" | cut -c1-16)"
  if [ -x "$tools/deploy-venv/bin/python" ] && [ -f "$stamp" ]; then return; fi
  echo "installing deploy/check/requirements.txt into .tools/deploy-venv" >&2
  rm -rf "$tools/deploy-venv" "$stamps"/venv-*
  python3 -m venv "$tools/deploy-venv"
  "$tools/deploy-venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  touch "$stamp"
}

for what in "$@"; do
  case "$what" in
    deploy)
      go_install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" kustomize
      go_install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" kubeconform
      go_build deploy/check/composecheck composecheck
      python_venv
      ;;
    loadtest)
      go_build loadtest meshload
      ;;
    *)
      echo "usage: $0 deploy|loadtest..." >&2
      exit 2
      ;;
  esac
done
