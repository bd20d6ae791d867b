# Booking Pulse. `make run` starts everything with demo traffic; `make test` runs the suite.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: setup system-deps run test lint bench db-stop clean

setup: system-deps $(VENV)/.installed

system-deps:
	@bash scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@
	@echo "setup: python environment ready in $(VENV)"

run: setup
	@$(BIN)/pulse demo

test: setup
	@$(BIN)/pytest

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

bench: setup
	@$(BIN)/python -m bench.run_all

db-stop: setup
	@$(BIN)/pulse db stop

clean:
	rm -rf $(VENV) .pulse
