# Two commands are all a newcomer needs:  `make demo`  and  `make test`.
# Each sets up what it needs itself (virtualenv, packages, Chromium).
SHELL := /bin/bash
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
# Lambda runs python3.12: use it here too (pyenv's when there is no python3.12 on PATH)
PYTHON312 := $(shell command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys' >/dev/null 2>&1 && echo python3.12 || \
	(v=$$(pyenv versions --bare 2>/dev/null | grep '^3\.12' | tail -n1); [ -n "$$v" ] && echo "env PYENV_VERSION=$$v python"))
export SAM_CLI_TELEMETRY := 0

.PHONY: setup chromium axe demo serve test unit lint typecheck lock validate build bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is needed (python3.12 on PATH, or pyenv with a 3.12 version)"; exit 1; }
	$(PYTHON312) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# pip compiles every file it installs on one core (half of the set-up); compileall uses every
	# core. A file that does not compile is compiled, and fails, when imported, as without it
	$(BIN)/pip install --quiet --no-compile -r requirements-dev.txt
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The browser tests' one npm package, axe-core (the accessibility auditor), pinned by its lock;
# npm itself from Debian's nodejs and npm packages when this machine has none.
AXE := tests/browser/node_modules/.installed
axe: $(AXE)

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		echo "Installing Debian's nodejs and npm for the browser tests' accessibility audit"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --prefix tests/browser
	touch $@

demo: setup  ## rehearse a whole campaign on the local cloud
	$(BIN)/python -m ops demo

serve: setup  ## run the local cloud and its API until Ctrl-C
	$(BIN)/python -m ops serve

# every core: each worker runs its own local cloud (moto's state is per process); worksteal
# keeps both busy to the end though the long lifecycle tests sit in a few files
test: setup chromium axe  ## every test: unit, integration on moto, browser (axe-core audits)
	$(BIN)/pytest -n auto --dist worksteal

unit: setup  ## the fast tier: the pure domain, settings, locks and contracts (seconds, no cloud)
	$(BIN)/pytest tests/unit

bench: setup  ## the sweep, the viewing feed and the first load, measured (about 12 minutes), then docs/capacity.md
	$(BIN)/python -m bench.run
	$(BIN)/python docs/capacity.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml examples/billing-consumer/template.yaml

typecheck: setup  ## mypy, strict, on the layer and the handlers
	$(BIN)/mypy

# The locks (requirements*.txt, layers/common/requirements.txt) pin every package with the hashes
# of PyPI's own files, whatever index or mirror this machine's pip is configured with.
LOCK := PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links --index-url https://pypi.org/simple

lock: setup  ## re-resolve the locks from the .in files (after changing a version there)
	$(LOCK) -o layers/common/requirements.txt layers/common/requirements.in
	$(LOCK) -o requirements-dev.txt requirements-dev.in
	$(LOCK) -o requirements-sam.txt requirements-sam.in

$(SAM_VENV)/.installed: requirements-sam.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is needed"; exit 1; }
	$(PYTHON312) -m venv $(SAM_VENV)
	# --no-deps: the lock names every package, and pip's hash mode trips on aws-sam-cli's own extras
	$(SAM_VENV)/bin/pip install --quiet --no-deps -r requirements-sam.txt
	$(SAM_VENV)/bin/pip check
	touch $@

validate: $(SAM_VENV)/.installed  ## sam validate --lint (the product, and the example billing consumer)
	$(SAM_VENV)/bin/sam validate --lint
	$(SAM_VENV)/bin/sam validate --lint --template-file examples/billing-consumer/template.yaml

build: $(SAM_VENV)/.installed  ## sam build (needs python3.12 for the layer)
	PATH="$$(dirname $$($(PYTHON312) -c 'import sys; print(sys.executable)')):$$PATH" $(SAM_VENV)/bin/sam build

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam out tests/browser/node_modules
