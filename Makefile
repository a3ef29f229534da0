# seed.fate — the two commands of the README, and the pieces they are made of.
#   make lab    bring up the built-in 3-party lab (needs Docker; seedemu is installed into .venv)
#               (LAB=mini-internet: the mini-Internet example, 19 ASes on 3 IXes, inventories/mini-internet)
#   make test   every test tier: sanity, lint, unit + golden, docker, the emulated Internet (seedemu), artifact
#
# seedemu (not on PyPI) comes from SEEDEMU_SOURCE: by default the pinned upstream commit, from its archive in
# ../shared/vendor/ when present, else through pip's git form; or a source archive / checkout of your own.
# SEEDEMU_PATH, when set, wins and is used in place (scripts/install-seedemu).

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: lab down status docs-picture test venv seedemu sanity unit pytest docker-tier seedemu-tier mini-internet-tier fate22-tier swarm-tier lint build bench images network molecule

export SEEDEMU_SOURCE SEEDEMU_PATH

venv: $(VENV)/.seedfate-stamp seedemu

# Installs only when the source changed (scripts/install-seedemu keeps a stamp in the venv).
seedemu: $(VENV)/.seedfate-stamp
	@scripts/install-seedemu

# Re-install only when the pins change.
$(VENV)/.seedfate-stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# FATE_VERSION: the lab's FATE (inventories/default: 2.2.0, built here from Debian and PyPI, real jobs).
# FATE_VERSION=1.3.0 is the seed's original (federatedai/* images); with FATE_IMAGES=standin it uses
# seed.fate's test stand-ins instead (hosts without a registry; they only answer TCP, no job runs).
FATE_VERSION ?=
FATE_IMAGES ?= upstream
LAB_ARGS := $(if $(FATE_VERSION),-e fate_version=$(FATE_VERSION)) \
	$(if $(filter standin,$(FATE_IMAGES)),-e @playbooks/vars/fate-standins.yml)

# LAB: the lab's inventory under inventories/ (unset: ansible.cfg's, the built-in 3-AS lab inventories/default;
# LAB=mini-internet: the mini-Internet example). Applies to lab, down, status and network.
LAB ?=
INVENTORY_ARGS := $(if $(LAB),-i inventories/$(LAB))

lab: venv
	@if [ "$(FATE_IMAGES)" = standin ] && [ "$(FATE_VERSION)" != 1.3.0 ]; then \
	  echo "make lab: FATE_IMAGES=standin are stand-ins for FATE 1.3.0: add FATE_VERSION=1.3.0 (FATE 2.2.0's images are built here)" >&2; exit 2; fi
	$(BIN)/ansible-playbook $(INVENTORY_ARGS) playbooks/site.yml $(LAB_ARGS)

down: venv
	$(BIN)/ansible-playbook $(INVENTORY_ARGS) playbooks/teardown.yml -e teardown_network=true

# Per AS its routers and BGP sessions, per party its components; the picture in build/<lab>/status/.
status: venv
	$(BIN)/ansible-playbook $(INVENTORY_ARGS) playbooks/status.yml

# The README's pictures of the default lab and of the mini-Internet: each topology compiled (seedemu only, no
# Docker) into a build folder of its own, drawn from the files.
docs-picture: venv
	$(BIN)/ansible-playbook playbooks/status.yml -e status_compile=true -e status_docker=false \
	  -e status_build_dir=$(CURDIR)/build/docs-picture -e seedfate_lab_name=default
	$(BIN)/ansible-playbook -i inventories/mini-internet playbooks/status.yml -e status_compile=true \
	  -e status_docker=false -e status_build_dir=$(CURDIR)/build/docs-picture-mini-internet
	mkdir -p docs && cp build/docs-picture/status/lab.svg docs/lab-default.svg
	cp build/docs-picture-mini-internet/status/lab.svg docs/lab-mini-internet.svg

# Each tier prints its time (scripts/tier). In CI (CI=true) a skipped docker or seedemu test fails.
test: venv
	@scripts/tier --start
	@scripts/tier sanity $(MAKE) --no-print-directory sanity
	@scripts/tier lint $(MAKE) --no-print-directory lint
	@scripts/tier unit+golden $(MAKE) --no-print-directory unit
	@scripts/tier docker $(MAKE) --no-print-directory docker-tier
	@scripts/tier seedemu $(MAKE) --no-print-directory seedemu-tier
	@scripts/tier artifact $(MAKE) --no-print-directory build
	@scripts/tier --summary

sanity: venv
	scripts/ansible-test-sanity

# Every pytest tier in one run (unit, golden, docker-backed integration, molecule, the emulated Internet).
pytest: venv
	scripts/run-pytest

unit: venv
	scripts/run-pytest -m "not docker and not seedemu"

# Real engine and compose, images built offline, molecule `default`.
docker-tier: venv
	scripts/run-pytest -m "docker and not seedemu and not swarm" --durations=10

# The emulated Internet: seedemu skeleton, BGP bring-up, the fork-style program, molecule `lab` (1.3.0
# stand-ins), molecule `fate22` (real FATE 2.2.0 jobs across the routers) and molecule `swarm` (the lab over
# three Docker hosts of this machine; root).
# The mini-Internet example (marker mini_internet, several minutes) has a tier of its own: mini-internet-tier.
seedemu-tier: venv
	scripts/run-pytest -m "seedemu and not mini_internet and not swarm" --durations=10

# The mini-Internet example brought up for real (inventories/mini-internet: 19 ASes, about 30 containers).
mini-internet-tier: venv
	scripts/run-pytest -m mini_internet --durations=10

# Real FATE 2.2.0 across the emulated Internet alone (molecule `fate22`: toy and hetero-LR jobs, report.json);
# part of the seedemu tier.
fate22-tier: venv
	scripts/run-pytest -m fate22

# Three Docker hosts on this machine joined by a Swarm overlay (tests/multihost/swarmlab.py); needs root.
# Not part of `make test`; molecule `swarm` (marker seedemu, not swarm) runs the whole lab on it in the seedemu tier.
swarm-tier: venv
	scripts/run-pytest -m swarm -s --durations=10

# Offline: Galaxy is unreachable; the collection is found through ansible.cfg's collections_path.
lint: venv
	$(BIN)/ansible-lint --offline playbooks/ collections/ansible_collections/seed/fate/roles/

# The collection artifact must build and carry no tests, fixtures or build junk.
build: venv
	scripts/check-collection-build

images: venv
	$(BIN)/ansible-playbook playbooks/images.yml -e images_build_standins=true

network: venv
	$(BIN)/ansible-playbook $(INVENTORY_ARGS) playbooks/network.yml

# molecule finds ansible-playbook on PATH.
molecule: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule test -s default

bench: venv
	for b in tests/bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
