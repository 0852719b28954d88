# rotor: `make demo` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
export CARGO_TERM_COLOR ?= never

.PHONY: demo test bench lint build build-fips setup package deny-tool cdk docs

## setup: the Python venv with cargo-lambda (its wheel ships the binary), moto and boto3
setup: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt infra/local/packages.sh
	bash infra/local/packages.sh
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## build: every workspace binary (the functions, rotatectl) in the debug profile
build:
	cargo build --workspace --bins --locked

## build-fips: the FIPS build (rotation-core's `fips`: AWS-LC's FIPS module, built from source with Go, offline, and
## CMake) of every function and rotatectl, in target/fips; the FIPS tests run rotate-custom and rotate-postgres
FIPS_CRATES := rotation-custom rotation-postgres rotation-mysql rotation-redis rotation-redshift rotation-mongodb \
	rotation-iam rotation-directory rotatectl
FIPS_CARGO := GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CARGO_TARGET_DIR="$${CARGO_TARGET_DIR:-target}/fips" cargo
FIPS_BUILD := $(FIPS_CARGO) build --locked --bins --features rotation-core/fips
build-fips: setup
	$(FIPS_BUILD) $(addprefix -p ,$(FIPS_CRATES))

## deny: cargo-deny (pinned) installed into ~/.cargo/bin when missing
CARGO_DENY_VERSION := 0.20.2
deny-tool:
	@cargo deny --version 2>/dev/null | grep -q "$(CARGO_DENY_VERSION)" || cargo install --locked --quiet cargo-deny --version $(CARGO_DENY_VERSION)

## lint: formatting, clippy (warnings are errors), the module graph (no import circle, no module reaching up
## into its lib.rs), the dependency policy (deny.toml: licences, duplicate versions, sources always; RustSec
## advisories when their database can be fetched), and the SAM template (cfn-lint, sam validate --lint, checkov
## offline: every skip is justified in the template next to its resource)
lint: setup deny-tool
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	python3 infra/local/module-graph.py  # no import circle in any crate, no module reaching up into its lib.rs
	cargo fetch --locked  # every platform's crates, which cargo deny's metadata reads (the build fetches only ours)
	cargo deny --offline --locked check licenses bans sources
	@if timeout 120 cargo deny fetch db >/dev/null 2>&1; then cargo deny --locked check advisories; \
	else echo "cargo deny: the advisory database cannot be fetched from here; advisories not checked"; fi
	$(VENV)/bin/cfn-lint template.yaml infra/stacks/*.yaml
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --lint --region us-east-1 --template-file template.yaml
	BC_SKIP_MAPPING=TRUE $(VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		-f template.yaml $(addprefix -f ,$(wildcard infra/stacks/*.yaml))

## cdk: the construct library (infra/cdk, aws-cdk-lib from the npm registry, the versions package-lock.json pins):
## compiled, its tests (node's test runner), then `cdk synth` of the example app with the debug build's binaries as
## the functions' code, and cfn-lint and checkov on what it synthesized. The cfn-lint checks left out fire on the
## values the construct's parameters leave in branches their conditions never take (an empty key ARN under
## HasKmsKey=false, ...); template.yaml itself passes them all in `lint`. tests/tests/e2e/templates.rs runs the
## example's schedules against PostgreSQL.
CDK_UNTAKEN_BRANCH_CHECKS := W1028 W8003 W1001 E1019 E1150 E1157 E1162 E1164 E3017 E3031 E3034 E3510
cdk: setup build
	cd infra/cdk && npm ci --no-audit --no-fund --loglevel=error
	cd infra/cdk && node_modules/.bin/tsc -p .
	cd infra/cdk && node --test dist/test/
	for binary in $$(cd infra/cdk && node -p "require('./dist/lib').allFunctions().map(f => f.binary).join(' ')"); do \
		mkdir -p target/cdk-code/$$binary && ln -sfn "$$PWD/target/debug/$$binary" target/cdk-code/$$binary/bootstrap; \
	done
	cd infra/cdk && CDK_DISABLE_VERSION_CHECK=1 node_modules/.bin/cdk synth --quiet --no-notices --no-staging \
		-o cdk.out -c codeDir=../../target/cdk-code
	$(VENV)/bin/cfn-lint --ignore-checks $(CDK_UNTAKEN_BRANCH_CHECKS) -- infra/cdk/cdk.out/RotorExample.template.json
	BC_SKIP_MAPPING=TRUE $(VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		-f infra/cdk/cdk.out/RotorExample.template.json

## docs: the book (docs/src, mdBook pinned, installed into ~/.cargo/bin when missing) built into docs/book, then
## every link of it and of the README checked offline (infra/local/check-book-links.py)
MDBOOK_VERSION := 0.5.4
docs:
	@mdbook --version 2>/dev/null | grep -q "v$(MDBOOK_VERSION)" || cargo install --locked --quiet mdbook \
		--version $(MDBOOK_VERSION) --no-default-features --features search
	mdbook build docs
	python3 infra/local/check-book-links.py docs/book .

## test: lint, the construct library, the book, doc tests, then unit, fault-injection and end-to-end tests (the
## test database servers they start are stopped afterwards)
test: setup build build-fips lint cdk docs
	bash infra/local/packages.sh
	cargo test --workspace --doc --locked
	# The unit tests whose assertions differ in the FIPS build (FIPS mode, endpoints, TLS floor, the drivers'
	# provider, the password policy), built as the FIPS build.
	$(FIPS_CARGO) test --locked --lib --features rotation-core/fips -p rotation-core -p rotation-database \
		-p rotation-mongodb -p rotation-directory
	@status=0; \
	if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --locked --no-fail-fast || status=$$?; \
	else \
		cargo test --workspace --locked --no-fail-fast || status=$$?; \
	fi; \
	bash infra/local/test-servers.sh stop; \
	exit $$status

## demo: the local endpoint and Lambda emulator, a generated secret rotated now and on schedule
demo: setup build
	$(VENV)/bin/python infra/local/demo.py

## bench: rotation latency, cold start, peak RSS and API calls of the release build, and of the FIPS build's
## rotate-custom and rotate-postgres
bench: setup
	cargo build --workspace --bins --release --locked
	$(FIPS_BUILD) --release -p rotation-custom -p rotation-postgres
	cargo bench -p rotor-tests --bench rotation --locked

## package: sam build of every function (release, cross-compiled by cargo-lambda) and their binary and zip sizes;
## ARCH=arm64 (the template's default) or x86_64; FIPS=1: the FIPS build, into .aws-sam/build-fips (package.sh);
## FUNCTION=<logical id> (PostgresFunction, ...): that function alone
ARCH ?= arm64
FIPS ?= 0
FUNCTION ?=
package: setup
	ARCH="$(ARCH)" FIPS="$(FIPS)" bash infra/local/package.sh $(FUNCTION)
