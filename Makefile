# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Both install from the locks in requirements/ (exact versions, with hashes), never from the
# ranges in pyproject.toml: a release published tomorrow cannot change what they install.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
ASSETS := hub/api/static/vendor/.built
PORT ?= 8080
LOCK_FLAGS := --universal --generate-hashes --python-version 3.11 --quiet

.PHONY: help run test lint bench install install-dev assets lock upgrade clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip checks every hash; --no-build-isolation builds the hub itself with the locked setuptools.
$(RUN_STAMP): requirements/run.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/run.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): requirements/dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(RUN_STAMP)

$(BENCH_STAMP): requirements/bench.txt $(DEV_STAMP)
	$(BIN)/pip install --quiet --require-hashes -r requirements/bench.txt
	touch $@

install: $(RUN_STAMP)  ## Install what running the hub needs into .venv (from the lock)

install-dev: $(DEV_STAMP)  ## Install the hub and its test and lint tools into .venv (from the lock)

# The dashboard's NHS.UK frontend and uPlot files, from web/package-lock.json (npm ci), served by the hub.
$(ASSETS): web/package.json web/package-lock.json scripts/build-assets.sh
	./scripts/build-assets.sh

assets: $(ASSETS)  ## Install the dashboard's front-end assets into hub/api/static/vendor

run: $(RUN_STAMP) $(ASSETS)  ## Start the whole hub with simulated feeds; prints the dashboard URL
	$(BIN)/hub up --port $(PORT)

test: $(DEV_STAMP) $(ASSETS)  ## Lint, type-check and run every test against real services
	./scripts/system-tools.sh
	$(MAKE) lint
	$(BIN)/pytest -p no:cacheprovider; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

lint: $(DEV_STAMP)  ## ruff, mypy --strict and the import-layer contracts
	$(BIN)/ruff check hub streams tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(BENCH_STAMP)  ## Measure throughput and latency; results go to bench/results/
	./scripts/bench-tools.sh
	$(BIN)/python -m bench

# Re-resolve the locks from pyproject.toml, keeping every pin that still satisfies it.
lock: $(DEV_STAMP)  ## Refresh requirements/*.txt after changing dependencies in pyproject.toml
	$(BIN)/uv pip compile pyproject.toml requirements/build.in $(LOCK_FLAGS) -o requirements/run.txt
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev -c requirements/run.txt $(LOCK_FLAGS) -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev --extra bench -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/bench.txt

# Take the newest releases the ranges allow; commit the result only with a green `make test`.
upgrade: $(DEV_STAMP)  ## Move every locked version to the newest release pyproject.toml allows
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --upgrade $(LOCK_FLAGS) -o requirements/run.txt
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev -c requirements/run.txt --upgrade $(LOCK_FLAGS) -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev --extra bench -c requirements/dev.txt --upgrade $(LOCK_FLAGS) -o requirements/bench.txt

clean:  ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
