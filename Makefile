# seed.fate — the two commands of the README, and the pieces they are made of.
#   make lab    bring up the built-in 3-party lab (needs Docker and seedemu: SEEDEMU_PATH=...)
#   make test   every test tier that this machine can run (sanity, unit, golden, docker, molecule)

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: lab down test venv sanity unit pytest lint build bench images network molecule

venv: $(VENV)/.seedfate-stamp

# Re-install only when the pins change.
$(VENV)/.seedfate-stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# FATE_IMAGES=standin: seed.fate's test stand-ins instead of federatedai/* (hosts without a registry).
FATE_IMAGES ?= upstream
LAB_ARGS := $(if $(filter standin,$(FATE_IMAGES)),-e @playbooks/vars/fate-standins.yml)

lab: venv
	$(BIN)/ansible-playbook playbooks/site.yml $(LAB_ARGS)

down: venv
	$(BIN)/ansible-playbook playbooks/teardown.yml -e teardown_network=true

test: venv sanity lint pytest build

sanity: venv
	scripts/ansible-test-sanity

# Unit, golden, docker-backed integration and molecule tests (pytest drives molecule).
pytest: venv
	scripts/run-pytest

unit: venv
	$(BIN)/pytest -m "not docker and not seedemu"

# Offline: Galaxy is unreachable; the collection is found through ansible.cfg's collections_path.
lint: venv
	$(BIN)/ansible-lint --offline playbooks/ collections/ansible_collections/seed/fate/roles/

# The collection artifact must build and carry no tests, fixtures or build junk.
build: venv
	scripts/check-collection-build

images: venv
	$(BIN)/ansible-playbook playbooks/images.yml -e images_build_standins=true

network: venv
	$(BIN)/ansible-playbook playbooks/network.yml

# molecule finds ansible-playbook on PATH.
molecule: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule test -s default

bench: venv
	for b in tests/bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
