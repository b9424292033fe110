# InternVL Mesh. `make run` and `make test` are the two commands a newcomer needs; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := build

JAVA_HOME := $(shell scripts/find-jdk.sh)
ifeq ($(JAVA_HOME),)
$(error no JDK 25 found; see the message above)
endif
export JAVA_HOME
export PATH := $(JAVA_HOME)/bin:$(PATH)
# The tokenizer binding must use the native library inside its jar and never try to download one.
export DJL_OFFLINE := true
export RUST_FLAVOR := cpu

MVN := mvn -B -ntp
GOLDEN ?= ../shared/golden

.PHONY: build test golden run clean deploy-check loadtest loadtest-smoke

build:
	$(MVN) -q package -DskipTests

test:
	$(MVN) verify
	clients/openai-python/run.sh

golden: build
	bin/golden-check $(GOLDEN)

# The whole mesh on loopback, on MODEL_DIR or a generated demo checkpoint; prints a curl example.
run: build
	scripts/run-mesh.sh

clean:
	$(MVN) -q clean

.PHONY: bench bench-service bench-shards
# Engine speed on a checkpoint with InternVL2_5-1B's shapes (generated once into models/), beside the machine's
# measured limits and the targets; the ViT is timed against PyPI's torch in .tools/torch-venv (made once).
BENCH_MODEL ?= models/demo-internvl2_5-1b
bench: build
	@[ -f $(BENCH_MODEL)/config.json ] || bin/internvl demo-checkpoint --shape internvl2_5-1b --out $(BENCH_MODEL)
	@scripts/bench-torch-venv.sh
	bin/mesh-java dev.internvl.mesh.tools.bench.Bench $(BENCH_MODEL)

# Decode throughput through the llm-service with 1, 4 and 16 concurrent requests against the embedded engine.
bench-service: build
	@[ -f $(BENCH_MODEL)/config.json ] || bin/internvl demo-checkpoint --shape internvl2_5-1b --out $(BENCH_MODEL)
	bin/mesh-java dev.internvl.mesh.tools.bench.ServiceBench $(BENCH_MODEL)

# The language tier with its layers in 1 and in 4 shard processes, 16 concurrent requests, wire bytes per token.
bench-shards: build
	@[ -f $(BENCH_MODEL)/config.json ] || bin/internvl demo-checkpoint --shape internvl2_5-1b --out $(BENCH_MODEL)
	bin/mesh-java dev.internvl.mesh.tools.bench.ServiceBench --shards $(BENCH_MODEL)

# Validates deploy/ offline: Dockerfile lint and module list, compose.yaml, every kustomize render against the
# Kubernetes schemas and a cross-object lint (tools pinned in scripts/install-tools.sh, kept in .tools/).
deploy-check: build
	deploy/check/run.sh

# Load tests (loadtest/README.md). `make loadtest`: the full profile against a mesh already running (`make run`),
# at GATEWAY_URL (http://127.0.0.1:8080); VUS= and DURATION= override the profile's users per scenario and length.
LOADTEST_PROFILE ?= loadtest/profiles/full.json
loadtest:
	scripts/install-tools.sh loadtest
	.tools/bin/meshload -profile $(LOADTEST_PROFILE) $(if $(VUS),-vus $(VUS)) $(if $(DURATION),-duration $(DURATION))

# Starts the mesh on the small demo checkpoint, runs a bounded smoke load (20 s), stops the mesh; fails on a
# threshold breach.
loadtest-smoke: build
	loadtest/smoke.sh
