# seed.fate — the two commands of the README, and the pieces they are made of.
#   make lab    bring up the built-in 3-party lab (needs Docker and seedemu: SEEDEMU_PATH=...)
#   make test   every test tier that this machine can run (sanity, unit, golden, docker, molecule)

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: lab down test venv sanity unit pytest lint build clean-lab bench

venv: $(VENV)/.seedfate-stamp

# Re-install only when the pins change.
$(VENV)/.seedfate-stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

lab: venv
	$(BIN)/ansible-playbook playbooks/site.yml

down: venv
	$(BIN)/ansible-playbook playbooks/teardown.yml -e teardown_network=true

test: venv sanity pytest build

sanity: venv
	scripts/ansible-test-sanity

# Unit, golden, docker-backed integration and molecule tests (pytest drives molecule).
pytest: venv
	scripts/run-pytest

unit: venv
	$(BIN)/pytest -m "not docker and not seedemu"

lint: venv
	$(BIN)/ansible-lint playbooks/ collections/ansible_collections/seed/fate/roles/

# The collection artifact must build and carry no tests, fixtures or build junk.
build: venv
	scripts/check-collection-build

bench: venv
	for b in tests/bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
