# DramTrade Comms: `make run` starts everything locally, `make test` checks everything.
.DEFAULT_GOAL := run
.PHONY: run install assets test lint format clean

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The virtualenv, created once with Python 3.11.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Front-end packages from npm (package-lock.json), copied into static/vendor/ (gitignored):
# nothing is loaded from a CDN. `npm ci` runs only when the lock file is newer than the stamp.
NODE_STAMP := node_modules/.installed
VENDOR := static/vendor

$(NODE_STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

assets: $(NODE_STAMP)
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/htmx-ext-sse/dist/sse.min.js $(VENDOR)/htmx-ext-sse.min.js

install: $(STAMP) assets

run: $(STAMP) assets
	$(BIN)/dramtrade run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(STAMP) assets
	scripts/ensure-postgres.sh
	scripts/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/pytest -q

clean:
	rm -rf var build $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
