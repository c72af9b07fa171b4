# The front door: `make dev` runs the whole system locally, `make test` installs everything and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# jsii warns on every start that Node 20 is past end of life; it still works (see shared FACTS).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.DEFAULT_GOAL := help
.PHONY: help install dev test test-fast lint format typecheck synth synth-prod bench docs clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(PY_STAMP): requirements.txt requirements-dev.txt runtime/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP) ## Create the virtualenv and install Python and npm dependencies (only when they changed)

dev: install ## Start the whole system locally (HTTP, WebSocket, AWS emulation) on loopback
	$(PY) -m local

test: install lint ## Install everything and run every test
	$(PY) -m pytest

test-fast: install ## Run the tests without the slow real-bundle build
	$(PY) -m pytest -m "not slow"

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install ## Apply ruff's formatting and import sorting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

synth: install ## Synthesize the stacks of STAGE (default dev), bundling the Lambda code
	npx cdk synth -c stage=$(STAGE) --quiet

synth-prod: ## Synthesize the prod stacks
	$(MAKE) synth STAGE=prod

bench: install ## Run the benchmarks and print their results
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

docs: install ## Regenerate docs/openapi.json from the routes' models
	$(PY) -m runtime.openapi > docs/openapi.json

clean: ## Remove build output (keeps the virtualenv and node_modules)
	rm -rf cdk.out .cache .pytest_cache .mypy_cache .ruff_cache
