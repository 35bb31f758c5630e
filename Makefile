# Two commands matter: `make serve` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test lint typecheck unit openapi bench clean browser
NODE_STAMP := node_modules/.installed-stamp

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# netsuite 0.12 pins httpx<0.28 but works with 0.28; it only drives the sandbox in tests.
	$(BIN)/python -m pip install --quiet --no-deps 'netsuite==0.12.0'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/q2c serve

test: lint typecheck openapi unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

openapi: $(STAMP)
	$(BIN)/q2c openapi check

unit: $(STAMP) browser $(NODE_STAMP)
	$(BIN)/python -m pytest

# Headless Chromium and its driver for the portal's browser tests (Debian packages).
browser:
	bash scripts/ensure-browser.sh

# Node tools the tests use (axe-core), exactly as locked.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache node_modules tests/artifacts

# Load benchmark against baselines measured in the same run (needs wrk, nginx and a
# Redis on 127.0.0.1:6379; ~3-4 minutes). See bench/README.md. BENCH_ARGS passes options.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
