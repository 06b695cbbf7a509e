# Scout — the two commands a newcomer needs:
#   make run    set up what is missing, build, and serve on embedded defaults (http://127.0.0.1:3000)
#   make test   set up what is missing and run every test: unit, integration (SQLite + PostgreSQL), end-to-end
# Everything installs idempotently; only the package registries (crates.io, npm, Debian) are needed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)
# Builds live outside the checkout so fresh clones (and CI) reuse them; override to taste.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/scout/target
export CARGO_TERM_COLOR ?= never

# Server-function URLs hash this key instead of the checkout's path, so the server and the wasm always
# agree even when the shared build cache holds artifacts built in another checkout.
export SERVER_FN_OVERRIDE_KEY := scout

CARGO_LEPTOS_VERSION := 0.3.11
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml.
WASM_BINDGEN_VERSION := 0.2.129
# cargo-leptos compiles dev builds with this flag; the tests use it too so they share those artifacts.
LEPTOS_DEV_RUSTFLAGS := --cfg erase_components
POSTGRES_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# The official Python QStash SDK (from PyPI), which an integration test drives against the embedded
# server; kept outside the checkout like the build cache.
QSTASH_PY_VERSION := 3.4.0
QSTASH_PY_VENV := $(HOME)/.cache/scout/qstash-py-$(QSTASH_PY_VERSION)
# The server binary is copied next to the site it was built with (target/site), so a build cache
# shared by several checkouts can never pair one checkout's binary with another's wasm.
SERVER_BIN := target/scout

.PHONY: run test setup tools node-deps chromium postgres python-sdk build release test-unit test-integration test-e2e bench chaos qstash-dev

run: setup build
	@echo "Starting Scout on embedded defaults (LEPTOS_SITE_ADDR, DATABASE_URL, PUBLIC_URL come from the environment or .env); it logs its address."
	exec ./$(SERVER_BIN)

# Only the QStash-compatible server, for other local apps (as Upstash's CLI: QSTASH_DEV_PORT, default 8080).
qstash-dev: setup build
	exec ./$(SERVER_BIN) qstash-dev

test: setup chromium postgres python-sdk
	$(MAKE) --no-print-directory test-unit test-integration build test-e2e

setup: tools node-deps

tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@if ! cargo leptos --version 2>/dev/null | grep -qx "cargo-leptos $(CARGO_LEPTOS_VERSION)"; then \
	  echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (10-15 min, once)"; \
	  CARGO_TARGET_DIR=$(HOME)/.cache/scout/tools CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	    cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --ignore-rust-version; \
	fi
	@if ! wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)"; then \
	  echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (a few minutes, once)"; \
	  CARGO_TARGET_DIR=$(HOME)/.cache/scout/tools cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --locked; \
	fi

# Tailwind and wasm-opt come from npm so cargo-leptos never downloads them; Playwright for end2end.
# (`npm install --no-save` rather than `npm ci`: npm 11 leaves Tailwind's other-platform binaries out of
# the lock file and then refuses `npm ci`; this still installs the locked versions.)
# npm keeps node_modules/.package-lock.json: reinstall only when a lock file is newer than it.
node-deps: node_modules/.package-lock.json end2end/node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm install --no-audit --no-fund --no-save
	@touch $@

end2end/node_modules/.package-lock.json: end2end/package.json end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

# Playwright cannot download its browser here: Debian's chromium is used instead.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The PostgreSQL suite always runs: start this machine's server if it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@psql "$(POSTGRES_ADMIN_URL)" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'scout_test_%'" \
	  | while read -r db; do psql "$(POSTGRES_ADMIN_URL)" -qc "DROP DATABASE IF EXISTS \"$$db\"" >/dev/null; done

python-sdk: $(QSTASH_PY_VENV)/.installed

$(QSTASH_PY_VENV)/.installed:
	python3 -m venv "$(QSTASH_PY_VENV)"
	"$(QSTASH_PY_VENV)/bin/pip" install --quiet --disable-pip-version-check "qstash==$(QSTASH_PY_VERSION)"
	@touch $@

# The binary is replaced by a rename, never overwritten in place, so a running `make run` keeps its
# file and a second build (or `make test`) in the same checkout does not fail with "Text file busy".
build:
	cargo leptos build
	$(call install-server,debug)

# Optimised build (what `make bench` measures); it replaces target/scout and target/site the same way.
release: setup
	cargo leptos build --release
	$(call install-server,release)

define install-server
	cp "$(CARGO_TARGET_DIR)/$(1)/scout" "$(SERVER_BIN).tmp.$$$$" && mv -f "$(SERVER_BIN).tmp.$$$$" $(SERVER_BIN)
endef

test-unit:
	RUSTFLAGS="$(LEPTOS_DEV_RUSTFLAGS)" cargo test --no-default-features --features ssr --lib

test-integration: python-sdk
	RUSTFLAGS="$(LEPTOS_DEV_RUSTFLAGS)" SCOUT_TEST_POSTGRES_URL="$(POSTGRES_ADMIN_URL)" SCOUT_TEST_PYTHON="$(QSTASH_PY_VENV)/bin/python" \
	  cargo test --no-default-features --features ssr --test api

test-e2e:
	rm -rf target/e2e && mkdir -p target/e2e
	cd end2end && SCOUT_BIN="$(CURDIR)/$(SERVER_BIN)" E2E_PORT=$$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
	  npx playwright test

# Times a 5,000-creator TikTok job and one run of each other kind (YouTube and Instagram keywords,
# similar searches on each platform, TikTok through Apify) on the default (realistic) simulator
# latency with the optimised build; prints floor, wall time and ratio for each. Then the QStash-compatible
# server's publishes and signed deliveries per second (benches/qstash_throughput.rs).
bench: release
	scripts/bench-job.sh tiktok 5000 "home workout"
	scripts/bench-job.sh youtube 1000 "trail running"
	scripts/bench-job.sh instagram 1000 "pilates, barre, yoga flow"
	scripts/bench-job.sh instagram 1000 @maya.pilates7
	scripts/bench-job.sh tiktok 1000 @maya.pilates7
	scripts/bench-job.sh youtube 1000 @maya.pilates7
	SCOUT_TIKTOK_PROVIDER=apify scripts/bench-job.sh tiktok 1000 "home workout"
	cargo bench --bench qstash_throughput --no-default-features --features ssr -- 5000 32

# Not part of `make test` (it takes minutes): 8 concurrent searches under provider fault bursts and
# signed duplicate deliveries while the server is SIGKILLed and SIGTERMed mid-job, on SQLite, on
# PostgreSQL, and on two PostgreSQL instances behind a proxy; prints what was lost, duplicated and
# the longest progress gap after a restart (BENCHMARKS.md). CHAOS_ARGS adds options to all three runs
# (--searches, --target, --kills, --latency-ms, --faults, --keep; see examples/chaos.rs).
CHAOS_ARGS ?=
chaos: setup postgres build
	RUSTFLAGS="$(LEPTOS_DEV_RUSTFLAGS)" cargo build --example chaos --no-default-features --features ssr
	"$(CARGO_TARGET_DIR)/debug/examples/chaos" --database sqlite $(CHAOS_ARGS)
	"$(CARGO_TARGET_DIR)/debug/examples/chaos" --database postgres $(CHAOS_ARGS)
	"$(CARGO_TARGET_DIR)/debug/examples/chaos" --database postgres --instances 2 $(CHAOS_ARGS)
