# rotor: `make demo` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
export CARGO_TERM_COLOR ?= never

.PHONY: demo test bench lint build setup doc

## setup: the Python venv with cargo-lambda (its wheel ships the binary), moto and boto3
setup: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	@if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then \
		echo "installing python3-venv"; apt-get update -qq && apt-get install -y -qq python3-venv python3-pip; fi
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## build: every workspace binary (the functions, rotatectl) in the debug profile
build:
	cargo build --workspace --bins --locked

## lint: formatting and clippy, warnings are errors
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

## test: lint, doc tests, then unit, fault-injection and end-to-end tests
test: setup build lint
	cargo test --workspace --doc --locked
	@if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --locked --no-fail-fast; \
	else \
		cargo test --workspace --locked --no-fail-fast; \
	fi

## demo: the local endpoint and Lambda emulator, a generated secret rotated now and on schedule
demo: setup build
	$(VENV)/bin/python infra/local/demo.py

## bench: rotation latency, cold start, peak RSS and API calls of the release build
bench: setup
	cargo build --workspace --bins --release --locked
	cargo bench -p rotor-tests --bench rotation --locked
