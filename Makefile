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

.PHONY: build test golden clean

build:
	$(MVN) -q package -DskipTests

test:
	$(MVN) verify

golden: build
	bin/golden-check $(GOLDEN)

clean:
	$(MVN) -q clean
