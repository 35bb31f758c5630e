# Two commands matter: `make serve` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Node tools the checks run (Spectral + the OWASP ruleset for the contracts, axe-core
# for the portal's accessibility tests), pinned by package-lock.json; reinstalled
# whenever the lockfile changes.
NODE_STAMP := node_modules/.installed-stamp
SPECTRAL := node_modules/.bin/spectral

.PHONY: serve test lint typecheck unit openapi contract-lint contract-long bench clean browser

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# netsuite 0.12 pins httpx<0.28 but works with 0.28; it only drives the sandbox in tests.
	$(BIN)/python -m pip install --quiet --no-deps 'netsuite==0.12.0'
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node 20+) is required for the contract and browser checks"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

serve: $(STAMP)
	$(BIN)/q2c serve

test: lint typecheck openapi contract-lint unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The committed documents are current, and none breaks its released copy.
openapi: $(STAMP)
	$(BIN)/q2c openapi check

# Spectral (spectral:oas + OWASP API Top 10 + our rules in openapi/.spectral.yaml):
# any error or warning fails.
contract-lint: $(NODE_STAMP)
	$(SPECTRAL) lint openapi/v1.json openapi/v2.json --ruleset openapi/.spectral.yaml \
		--fail-severity=warn

# A longer schemathesis run (every phase, more examples; several minutes), not part of `make test`.
contract-long: $(STAMP)
	Q2C_CONTRACT_EXAMPLES=$${Q2C_CONTRACT_EXAMPLES:-150} \
	Q2C_STATEFUL_EXAMPLES=$${Q2C_STATEFUL_EXAMPLES:-100} Q2C_STATEFUL_STEPS=$${Q2C_STATEFUL_STEPS:-50} \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/contract/test_schemathesis.py

unit: $(STAMP) browser $(NODE_STAMP)
	$(BIN)/python -m pytest

# Headless Chromium and its driver for the portal's browser tests (Debian packages).
browser:
	bash scripts/ensure-browser.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache node_modules tests/artifacts

# Load benchmark against baselines measured in the same run (needs wrk, nginx and a
# Redis on 127.0.0.1:6379; ~3-4 minutes). See bench/README.md. BENCH_ARGS passes options.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
