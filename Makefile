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

# This repository's own environment (no image registry): stand-in base images for the Docker runtime.
DOCKER_STANDINS := --base-image fastapi=bench-standin-python:bookworm --base-image express=bench-standin-node:24-bookworm \
	--db-image bench-standin-postgres:15-bookworm

# Every test target ends with the 15 slowest tests (setup, call and teardown apart), to see where time goes.
PYTEST := $(VENV)/bin/pytest --durations=15

.PHONY: bench setup venv test test-fast test-docker lint lock clean docker-fixture clean-docker

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
	$(PYTEST) $(PYTEST_ARGS)

test-fast: venv  ## unit tests only (no servers started)
	$(PYTEST) -m "not e2e and not docker" $(PYTEST_ARGS)

test-docker: venv  ## the Docker tests (skip without an engine; BENCH_REQUIRE_DOCKER=1 makes them fail instead)
	$(PYTEST) tests/test_docker.py $(PYTEST_ARGS)

docker-fixture:  ## start dockerd (host networking only) and build stand-in base images, for machines with no registry
	bash scripts/start-dockerd.sh
	bash scripts/docker-standins.sh

clean-docker:  ## remove the containers and images the harness made
	-docker ps -aq --filter label=bench.harness=1 | xargs -r docker rm -f
	-docker images -q --filter label=bench.harness=1 | xargs -r docker rmi -f

lint: venv
	$(VENV)/bin/ruff check harness tests scenarios targets contract

lock:  ## re-pin every dependency of the harness venv
	rm -rf build/lockvenv && $(PYTHON) -m venv build/lockvenv
	build/lockvenv/bin/pip install --quiet -e '.[test]'
	( echo '# Every package the harness venv gets, with its exact version (pip freeze of `pip install -e ".[test]"`).'; \
	  echo '# Regenerate: make lock'; build/lockvenv/bin/pip freeze --exclude-editable ) > requirements.lock

clean:
	rm -rf $(VENV) build targets/*/.venv targets/*/node_modules targets/*/.install-stamp
