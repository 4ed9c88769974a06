# The two commands of the README are `make run` and `make test`; everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck layers pytest bench system-deps clean

$(VENV)/.run-installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.run-installed setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

## run: start the hub on https://localhost:8443 with the embedded store (data in ./data)
run: $(VENV)/.run-installed
	$(BIN)/mykerio serve --dev

## test: install what the tests need, then lint, type-check, check layers and run pytest
test: system-deps $(VENV)/.test-installed lint typecheck layers pytest

system-deps:
	./.ci/install-system-deps

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

layers: $(VENV)/.test-installed
	$(BIN)/lint-imports

pytest: $(VENV)/.test-installed
	$(BIN)/pytest

## bench: the benchmarks of bench/, printed as tables with ratios against same-run baselines
bench: $(VENV)/.test-installed
	$(BIN)/python bench/actors.py
	$(BIN)/python bench/login.py
	$(BIN)/python bench/shutdown.py
	$(BIN)/python bench/appliances.py

clean:
	rm -rf $(VENV) .cache .mypy_cache .pytest_cache .ruff_cache
