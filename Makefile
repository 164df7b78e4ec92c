# The two commands a newcomer needs: `make run` and `make test`.
# Both do all of the set-up, system packages included (as root on Debian).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export IAM_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test install system-packages lint typecheck unit bench demo-dc clean

install: system-packages $(STAMP) $(NODE_STAMP)

system-packages:
	@tools/system_packages.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The console's browser code (htmx) from npm, pinned by package-lock.json;
# served from node_modules, never copied into the repository.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: install
	@tools/ensure_postgres.sh
	$(MAKE) lint typecheck
	$(BIN)/pytest

run: install
	@tools/demo.sh

bench: install
	@tools/ensure_postgres.sh
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
