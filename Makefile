# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := hub/api/static/vendor/.built
PORT ?= 8080

.PHONY: help run test lint bench install assets clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## Install the hub and its tools into .venv

# The dashboard's NHS.UK frontend and uPlot files, from web/package-lock.json (npm), served by the hub.
$(ASSETS): web/package.json web/package-lock.json scripts/build-assets.sh
	./scripts/build-assets.sh

assets: $(ASSETS)  ## Install the dashboard's front-end assets into hub/api/static/vendor

run: $(STAMP) $(ASSETS)  ## Start the whole hub with simulated feeds; prints the dashboard URL
	$(BIN)/hub up --port $(PORT)

test: $(STAMP) $(ASSETS)  ## Lint, type-check and run every test against real services
	./scripts/system-tools.sh
	$(MAKE) lint
	$(BIN)/pytest -p no:cacheprovider; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

lint: $(STAMP)  ## ruff, mypy --strict and the import-layer contracts
	$(BIN)/ruff check hub streams tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)  ## Measure throughput and latency; results go to bench/results/
	$(BIN)/python -m bench

clean:  ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
