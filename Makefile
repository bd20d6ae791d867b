# Booking Pulse. `make run` starts everything with demo traffic; `make test` runs the suite.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig*.json -type f 2>/dev/null)

.PHONY: setup system-deps web run test test-fuzz test-install lint bench bench-large db-stop clean

setup: system-deps $(VENV)/.installed web

system-deps:
	@bash scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@
	@echo "setup: python environment ready in $(VENV)"

# The dashboard: installed exactly as package-lock.json says, built into web/dist/.
web: web/dist/index.html

web/node_modules/.installed: web/package.json web/package-lock.json
	@cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	@cd web && npm run --silent build > /dev/null
	@echo "setup: dashboard built in web/dist"

run: setup
	@$(BIN)/pulse demo

test: setup
	@$(BIN)/pytest
	@cd web && npm test --silent

# At least 10,000 hostile requests at POST /v1/events; not in `make test`, but in CI.
test-fuzz: setup
	@$(BIN)/pytest -m fuzz tests/fuzz -s -q

# pip install . into a fresh virtualenv, then migrate and serve from another directory.
test-install: setup
	@$(BIN)/pytest -m install tests/install -q

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy
	@cd web && npm run --silent lint && npm run --silent typecheck

bench: setup
	@$(BIN)/python -m bench.run_all

# The same figures at 10^7 events (PULSE_BENCH_EVENTS), with a timed full replay of every projection and
# /v1/status and /readyz latency: 10-15 minutes and a ~6 GiB database; not in CI. Run `make bench` first:
# the ingest rate is compared with its 10^6 run.
bench-large: setup
	@$(BIN)/python -m bench.large

db-stop: setup
	@$(BIN)/pulse db stop

clean:
	rm -rf $(VENV) .pulse web/node_modules web/dist
