# The front door: `make dev` runs the whole system locally, `make test` installs everything and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
ARGS ?=
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
UV_VERSION := 0.13.8
# The browser tests drive Debian's Chromium (never a browser downloaded by Playwright).
CHROMIUM := /usr/bin/chromium
# Test processes: one per core (the suite's fixtures are per process, its ports free ones).
PYTEST_WORKERS ?= auto
# jsii warns on every start that Node 20 is past end of life; it still works (see shared FACTS).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.DEFAULT_GOAL := help
.PHONY: help install browser dev test test-fast fuzz lint format typecheck synth synth-prod bench soak docs clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(PY_STAMP): requirements.txt requirements-dev.txt runtime/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv resolves and installs the pinned set in seconds (pip took minutes); pip stays in the venv
	@# because the Lambda bundler uses it to fetch wheels for the Lambda platform.
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP) ## Create the virtualenv and install Python and npm dependencies (only when they changed)

browser: ## Install Debian's Chromium for the browser tests if missing (as root with apt-get; else they skip)
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests ..."; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
			|| echo "warning: apt-get could not install chromium: the browser tests will skip"; \
	else echo "note: no $(CHROMIUM) and no way to install it here (needs root and apt-get): the browser tests will skip"; fi

dev: install ## Start the whole system locally (web client :3003, HTTP :3000, WebSocket :3001, AWS :3002); ARGS="--reset" etc.
	$(PY) -m local $(ARGS)

test: install lint browser ## Install everything and run every test
	$(PY) -m pytest -n $(PYTEST_WORKERS)

test-fast: install ## Run the tests without the slow ones (real bundle build, local runtime)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow"

# `make test` runs the fuzzers with a few derandomized examples each; this searches much deeper.
FUZZ_EXAMPLES ?= 200
fuzz: install ## Deep fuzzing: schemathesis over the HTTP API, hypothesis over the event parsers (FUZZ_EXAMPLES=200)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider \
		tests/e2e/test_fuzz_http.py tests/runtime/realtime/test_fuzz.py tests/runtime/pipeline/test_fuzz_consumers.py

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

bench: install ## Run the benchmarks and print their results (not the soak)
	@for b in $(filter-out bench/load_ws.py,$(wildcard bench/*.py)); do echo "== $$b"; $(PY) $$b || exit 1; done

soak: install ## WebSocket load on the local runtime: 1,000 sockets, 50 msg/s for 60 s (ARGS="--rate 10" etc.)
	$(PY) bench/load_ws.py $(ARGS)

docs: install ## Regenerate docs/openapi.json from the routes' models
	$(PY) -m runtime.openapi > docs/openapi.json

clean: ## Remove build output (keeps the virtualenv and node_modules)
	rm -rf cdk.out .cache .pytest_cache .mypy_cache .ruff_cache
