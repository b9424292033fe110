#!/usr/bin/env bash
# `make deploy-check`: validates deploy/ offline (after the tools are installed): the Dockerfile, the runtime
# image's module list, compose.yaml, and every kustomize render against the Kubernetes schemas and the
# cross-object lint. Renders land in .tools/deploy-check/ for a look. See deploy/README.md, "What is checked".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
scripts/install-tools.sh deploy
: "${JAVA_HOME:=$(scripts/find-jdk.sh)}"
bin="$root/.tools/bin"
venv="$root/.tools/deploy-venv/bin"
work="$root/.tools/deploy-check"
rm -rf "$work"
mkdir -p "$work/renders" "$work/variants"
# The oldest Kubernetes the manifests target (pod-index labels, grpc probes) and the newest with bundled schemas.
K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 1.37.0}"
failures=0
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; failures=$((failures + 1)); }

step "Dockerfile: hadolint"
"$venv/hadolint" deploy/docker/Dockerfile && echo "deploy/docker/Dockerfile: no findings" || fail "hadolint"

step "Dockerfile: entry points and runtime modules"
# Every main class an image starts must exist, and jlink's module list must cover what jdeps finds on each
# service's class path (a missing module fails only at run time, in the container).
# (module, main class) of each image stage: the module it copies to /app, the class its ENTRYPOINT names
while read -r module main; do
  source="$module/src/main/java/${main//.//}.java"
  if [ -f "$source" ]; then
    echo "$main: $source"
  else
    fail "$main is started by the Dockerfile but $source does not exist"
  fi
done < <(awk '/^FROM /{module=""} match($0, /COPY --from=build \/dist\/[a-z-]+ \/app$/){split($3, p, "/"); module=p[3]}
              match($0, /dev\.internvl\.mesh\.[A-Za-z.]+/){print module, substr($0, RSTART, RLENGTH)}' deploy/docker/Dockerfile)
wanted=$(grep -v '^#' deploy/docker/runtime-modules.txt | sort -u)
for module in gateway llm-service vision-service tools; do
  if [ ! -d "$module/target/classes" ] || [ ! -d "$module/target/lib" ]; then
    echo "$module: skipped, not built in this tree"
    continue
  fi
  needed=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 -q \
             -cp "$module/target/lib/*" "$module/target/classes" | tr ',' '\n' | sort -u)
  missing=$(comm -23 <(echo "$needed") <(echo "$wanted"))
  if [ -n "$missing" ]; then
    fail "$module needs JDK modules missing from deploy/docker/runtime-modules.txt: $(echo $missing)"
  else
    echo "$module: its $(echo "$needed" | wc -l) JDK modules are all linked"
  fi
done

step "compose.yaml: compose-go (schema, references), loopback ports, build targets"
"$bin/composecheck" deploy/compose.yaml || fail "compose.yaml"

step "kustomize $("$bin/kustomize" version): base, overlays, each component on each overlay"
targets=(base)
for overlay in deploy/k8s/overlays/*/; do targets+=("overlays/$(basename "$overlay")"); done
for overlay in deploy/k8s/overlays/*/; do
  for component in deploy/k8s/components/*/; do
    name="$(basename "$overlay")+$(basename "$component")"
    # a throwaway kustomization: the overlay with one more component (skipped if the overlay already has it)
    grep -q "components/$(basename "$component")\$" "$overlay/kustomization.yaml" && continue
    mkdir -p "$work/variants/$name"
    cat > "$work/variants/$name/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$work/variants/$name" "$overlay")
components:
  - $(realpath --relative-to="$work/variants/$name" "$component")
EOF
    targets+=("variant:$name")
  done
done
renders=()
for target in "${targets[@]}"; do
  case "$target" in
    variant:*) dir="$work/variants/${target#variant:}" ;;
    *) dir="deploy/k8s/$target" ;;
  esac
  out="$work/renders/${target//[:\/]/_}.yaml"
  if "$bin/kustomize" build "$dir" > "$out"; then
    echo "$target: $(grep -c '^kind:' "$out") objects -> ${out#$root/}"
    renders+=("${out#$root/}")
  else
    fail "kustomize build $target"
  fi
done

"$venv/python" deploy/check/prepare_schemas.py "$work/schemas" $K8S_VERSIONS
for version in $K8S_VERSIONS; do
  step "kubeconform -strict, Kubernetes $version (custom resources: deploy/k8s/schemas)"
  "$bin/kubeconform" -strict -summary -kubernetes-version "$version" \
    -schema-location "$work/schemas/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "deploy/k8s/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "${renders[@]}" || fail "kubeconform against Kubernetes $version"
done

step "cross-object lint (deploy/check/lint_manifests.py)"
"$venv/python" deploy/check/lint_manifests.py "${renders[@]}" || fail "manifest lint"

echo
if [ "$failures" -gt 0 ]; then
  echo "deploy-check: $failures check(s) failed" >&2
  exit 1
fi
echo "deploy-check: everything valid"
