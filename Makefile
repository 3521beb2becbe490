# plotfleet: `make demo` runs the main job on localhost, `make test` runs every test.
# Both create .venv and install what they need (Debian packages too, when run as root).

SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
SANITY_ROOT := tests/output/sanity
SANITY_COLL := $(SANITY_ROOT)/ansible_collections/plotfleet/chia
# Debian packages the tests use: rsync and sshd for transfers, iproute2 for the namespace fleet,
# chromium for the HTML report test (headless screenshot).
DEB_PACKAGES := rsync openssh-server openssh-client iproute2 procps chromium
PYTEST := $(BIN)/pytest -p no:cacheprovider
# The real `chia plots create` (PyPI chia-blockchain) for the live chia CLI test, in its own venv so
# its pinned dependencies stay away from ansible-core's.
CHIA_VENV ?= .venv-chia
CHIA_VERSION := 2.7.5

.PHONY: help venv python-venv demo-venv chia-venv chia-venv-python sysdeps lint sanity unit integration fleet test bench demo demo-v2 demo-clean clean

help:
	@echo "make demo   - real small plots on localhost, moved to ./demo/storage (DEMO_FORMAT=v2: PoS2 .plot2)"
	@echo "make test   - lint, sanity, unit, integration and SSH-fleet tests"
	@echo "make bench  - benchmarks (figures go to BENCHMARKS.md by hand)"

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt requirements-test.txt
	@test -x $(BIN)/python || { $(VENV_TOOL) && echo "$(PYTHON) -m venv $(VENV)" && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-test.txt
	touch $@

# The demo needs requirements.txt (ansible-core, jmespath) and the real plotters pinned in
# requirements-test.txt (PyPI chiapos, chia_rs); `make venv` adds the test tools.
DEMO_PLOTTERS = $(shell grep -oE '^(chiapos|chia_rs)==[^ ]+' requirements-test.txt)
demo-venv: $(BIN)/.demo-installed

$(BIN)/.demo-installed: requirements.txt requirements-test.txt
	@test -x $(BIN)/python || { $(VENV_TOOL) && echo "$(PYTHON) -m venv $(VENV)" && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q -r requirements.txt $(DEMO_PLOTTERS)
	touch $@

chia-venv: $(CHIA_VENV)/bin/.installed

# Its interpreter alone (seconds): make test makes it before the integration suite collects its tests (a test
# file that finds no .venv-chia is skipped), then installs chia-blockchain into it beside the running tests.
CHIA_VENV_PYTHON = test -x $(CHIA_VENV)/bin/python || \
  { $(VENV_TOOL) && echo "$(PYTHON) -m venv $(CHIA_VENV)" && $(PYTHON) -m venv $(CHIA_VENV); }
chia-venv-python:
	@$(CHIA_VENV_PYTHON)

$(CHIA_VENV)/bin/.installed:
	@$(CHIA_VENV_PYTHON)
	$(CHIA_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHIA_VENV)/bin/python -m pip install -q chia-blockchain==$(CHIA_VERSION)
	touch $@

# `python3 -m venv` needs ensurepip, which Debian and Ubuntu ship apart, in python3-venv (installed as root).
# A shell command, not a sub-make: `make -n` must not run it (nor the venv creation beside it).
APT_INSTALL_VENV = DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
VENV_TOOL = { $(PYTHON) -c 'import ensurepip' 2>/dev/null || \
  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && echo "installing python3-venv" && \
    { $(APT_INSTALL_VENV) || { apt-get update -q >/dev/null && $(APT_INSTALL_VENV); }; }; }; \
  $(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "$(PYTHON) -m venv needs ensurepip: apt-get install python3-venv"; false; }; }
python-venv:
	@$(VENV_TOOL)

sysdeps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	  else echo "missing Debian packages:$$missing (some tests will be skipped)"; fi; \
	fi

lint: venv
	$(BIN)/ruff check plugins tests bench bin/plotfleet-loop bin/plotfleet-demo
	$(BIN)/ansible-lint --profile production --offline

# validate-modules (DOCUMENTATION vs argument_spec, RETURN, EXAMPLES) on a copy of the tracked
# files laid out as ansible_collections/plotfleet/chia, which is what ansible-test requires.
sanity: venv
	@# ansible-test bootstraps pip from ci-files.testing.ansible.com, which this network cannot reach.
	mkdir -p $(HOME)/.ansible/test/cache
	for v in 24_2 25_0 25_1 25_2 25_3; do cp tests/sanity/get_pip_offline.py $(HOME)/.ansible/test/cache/get_pip_$$v.py; done
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_COLL)
	git ls-files -co --exclude-standard -z | grep -zv '^collections/' | \
	  xargs -0 -I{} cp --parents {} $(SANITY_COLL)/ 2>/dev/null; true
	cd $(SANITY_COLL) && git init -q && git add -A
	cd $(SANITY_COLL) && PATH=$(CURDIR)/$(BIN):$$PATH ansible-test sanity --test validate-modules \
	  --python $$($(CURDIR)/$(BIN)/python -c 'import sys;print("%d.%d" % sys.version_info[:2])')
	@# Every module's documentation renders (from the checkout, through ansible.cfg's collections_path).
	for m in $$(ls plugins/modules | sed -n 's/\.py$$//p'); do \
	  ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg $(BIN)/ansible-doc plotfleet.chia.$$m >/dev/null || exit 1; done

unit: venv
	$(PYTEST) tests/unit

# Two workers, a test file each at a time (module fixtures stay within one worker): many of these
# tests wait on plots, rsync's bandwidth limit or passes rather than use a core. The slowest tests are
# listed at the end of each suite's log (where to look when the suite grows slow).
INTEGRATION_WORKERS ?= 2
# PLOTFLEET_CHIA_VENV_RC (set by make test): .venv-chia is being installed beside the suite, into the file it
# names goes the install's exit code; only the tests that run chia from .venv-chia wait for it (tests/conftest.py).
integration: venv sysdeps $(if $(PLOTFLEET_CHIA_VENV_RC),,chia-venv)
	$(PYTEST) -n $(INTEGRATION_WORKERS) --dist loadfile --durations=25 tests/integration

# Two fleets side by side, one per pytest-xdist worker (their own namespaces, bridge and subnet); each
# fleet takes its own machine-wide lock (tests/fleet/README.md), and a worker still waiting for its lock
# has its tests taken by the other (worksteal). FLEET_XDIST= runs one fleet.
FLEET_XDIST ?= -n 2 --dist worksteal
fleet: venv sysdeps
	$(PYTEST) $(FLEET_XDIST) --durations=25 tests/fleet

# The checks (lint, sanity, unit), the integration suite and the fleet suite run at the same time, each
# into its own log (tests/run_suites.py, on the system Python, prints each result as it ends, then the
# whole log of each suite that failed; any failure fails make test). Each suite first makes .venv (under
# a lock: the first one builds it, the others wait for it); the integration suite makes .venv-chia's
# interpreter and installs chia-blockchain into it in the background (~2 minutes from a fresh clone, mostly
# downloads, log: chia-venv.log), so every suite starts as soon as .venv is there and only the tests that run
# chia wait for the install (PLOTFLEET_CHIA_VENV_RC, tests/conftest.py). Lint and sanity, minutes of CPU that
# nothing waits for, run at a lower priority (nice): the longer integration and fleet suites get the
# cores first. The unit tests run at the normal one (one checks the nice a plot is started with).
SUITE_LOGS := tests/output/logs
SUB_MAKE := $(MAKE) --no-print-directory
LOCKED_VENV = mkdir -p $(SUITE_LOGS) && flock $(SUITE_LOGS)/.venv.lock $(SUB_MAKE) venv
CHECKS_SUITE = $(LOCKED_VENV) || exit; nice -n 10 $(SUB_MAKE) -k lint sanity; rc=$$?; $(SUB_MAKE) unit && exit $$rc
CHIA_VENV_RC := $(SUITE_LOGS)/chia-venv.rc
INTEGRATION_SUITE = mkdir -p $(SUITE_LOGS) && rm -f $(CHIA_VENV_RC) && $(SUB_MAKE) chia-venv-python || exit; \
  { $(SUB_MAKE) chia-venv > $(SUITE_LOGS)/chia-venv.log 2>&1; echo $$? > $(CHIA_VENV_RC).new; \
    mv $(CHIA_VENV_RC).new $(CHIA_VENV_RC); } & \
  $(LOCKED_VENV) && PLOTFLEET_CHIA_VENV_RC=$(CURDIR)/$(CHIA_VENV_RC) $(SUB_MAKE) integration; rc=$$?; wait; exit $$rc
FLEET_SUITE = $(LOCKED_VENV) && $(SUB_MAKE) fleet
test: sysdeps python-venv
	$(PYTHON) tests/run_suites.py $(SUITE_LOGS) checks='$(CHECKS_SUITE)' integration='$(INTEGRATION_SUITE)' \
	  fleet='$(FLEET_SUITE)'

bench: venv
	$(BIN)/python bench/run.py

# DEMO_FORMAT=v2 (or `make demo-v2`): PoS2 .plot2 plots with chia_rs instead of chiapos .plot plots.
DEMO_FORMAT ?= v1

demo: demo-venv
	PATH=$(CURDIR)/$(BIN):$$PATH bin/plotfleet-demo --format $(DEMO_FORMAT)

demo-v2:
	$(MAKE) demo DEMO_FORMAT=v2

demo-clean:
	-bin/plotfleet-demo --clean

clean:
	rm -rf $(VENV) $(CHIA_VENV) tests/output .pytest_cache .ruff_cache
