# The two commands of the README are `make run` and `make test`; everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every package the hub and its tests install is pinned here, so that a new release of a tool
# (ruff, mypy, …) cannot turn CI red without a change in this repository. `make constraints`
# renews it.
CONSTRAINTS := constraints.txt
PIP_INSTALL := $(BIN)/python -m pip install -q -c $(CONSTRAINTS)
# The official Go tarball installs outside PATH; the FerretDB test server is built with it.
export PATH := $(PATH):/usr/local/go/bin

.PHONY: run test lint typecheck layers pytest bench system-deps constraints python-check clean

# Say what is missing instead of failing obscurely inside venv or pip.
python-check:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "MyKerio Hub needs Python >= 3.11 as '$(PYTHON)' (set PYTHON=... to choose another)." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
		{ echo "Python's venv module is missing: on Debian or Ubuntu run 'sudo apt-get install python3-venv'." >&2; exit 1; }

$(VENV)/.run-installed: setup.cfg pyproject.toml $(CONSTRAINTS) | python-check
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.run-installed setup.cfg pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e '.[test]'
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
	$(BIN)/python bench/restart.py 1000
	$(BIN)/python bench/appliances.py
	$(BIN)/python bench/streams.py
	$(BIN)/python bench/appliance_list.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/definitions.py
	$(BIN)/python bench/backups.py
	$(BIN)/python bench/relay.py --appliances 1000
	$(BIN)/python bench/notifications.py
	$(BIN)/python bench/tunnel.py

## constraints: re-resolve every dependency to its newest release and pin the result
constraints: | python-check
	rm -rf .cache/constraints-venv
	$(PYTHON) -m venv .cache/constraints-venv
	.cache/constraints-venv/bin/python -m pip install -q --upgrade pip
	.cache/constraints-venv/bin/python -m pip install -q -e '.[test]'
	{ echo "# Pinned by 'make constraints' on $$(date -u +%Y-%m-%d); make run and make test install exactly these."; \
	  .cache/constraints-venv/bin/python -m pip freeze --exclude-editable; \
	  .cache/constraints-venv/bin/python -m pip list --format=freeze | grep -E '^pip=='; } > $(CONSTRAINTS)
	rm -rf .cache/constraints-venv

clean:
	rm -rf $(VENV) .cache .mypy_cache .pytest_cache .ruff_cache
