# Thin layer over the `bench` CLI: set-up, the main job, the tests.
PYTHON ?= python3
VENV := .venv
BENCH := $(VENV)/bin/bench
PROFILE ?= quick
RUNTIME ?= native
BENCH_ARGS ?=
RESULTS_DIR ?= results
ifndef RUN_NAME  # evaluated once (:=), so `run` and `report` name the same directory
RUN_NAME := $(shell date -u +%Y%m%dT%H%M%SZ)-$(PROFILE)-$(RUNTIME)
endif

.PHONY: bench setup venv test test-fast lint lock clean

bench: setup  ## set everything up, run the $(PROFILE) profile on every target, print the summary and the claims
	$(BENCH) run --profile $(PROFILE) --runtime $(RUNTIME) --results-dir $(RESULTS_DIR) --name $(RUN_NAME) $(BENCH_ARGS)
	$(BENCH) report $(RESULTS_DIR)/$(RUN_NAME)

setup: venv  ## harness venv plus each target's own install step (venv, npm ci)
	$(BENCH) setup

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

test: setup  ## the whole suite: unit, contract, end-to-end
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: venv  ## unit tests only (no servers started)
	$(VENV)/bin/pytest -m "not e2e and not docker" $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check harness tests scenarios targets contract

lock:  ## re-pin every dependency of the harness venv
	rm -rf build/lockvenv && $(PYTHON) -m venv build/lockvenv
	build/lockvenv/bin/pip install --quiet -e '.[test]'
	( echo '# Every package the harness venv gets, with its exact version (pip freeze of `pip install -e ".[test]"`).'; \
	  echo '# Regenerate: make lock'; build/lockvenv/bin/pip freeze --exclude-editable ) > requirements.lock

clean:
	rm -rf $(VENV) build targets/*/.venv targets/*/node_modules targets/*/.install-stamp
