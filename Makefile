# Two commands from a fresh clone: `make run` (the tutor) and `make test` (the suite).
# Both create .venv with Python 3.13 and install exactly the pins in constraints.txt.

PYTHON ?= $(shell command -v python3.13 2>/dev/null)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck content unit bench clean browser terminal sandbox

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.13 not found on PATH — install it (e.g. 'pyenv install 3.13') and rerun" >&2; exit 2; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { echo "error: $(PYTHON) is not Python 3.13 — set PYTHON=/path/to/python3.13" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Lab 01's Node.js consumer uses the AWS SDK v3, pinned by its package-lock.json. Without
# Node.js or npm that lab step is skipped (and says why), so a failure here is not fatal.
NODE_LAB := labs/01-decoupling-tiers/starter/node
NODE_STAMP := $(NODE_LAB)/node_modules/.installed-stamp

$(NODE_STAMP): $(NODE_LAB)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(NODE_LAB) --no-audit --no-fund --loglevel=error && touch $@ \
		|| echo "warning: npm ci failed; lab 01's Node.js step will be skipped" >&2; \
	else echo "note: npm not found; lab 01's Node.js step will be skipped" >&2; fi

# Kinesis in LocalStack is kinesis-mock, the npm package `kinesis-local` (LocalStack 4.14
# asks for 0.5.2), which LocalStack would fetch at first use: offline that fails. Installed
# here, pinned by its package-lock.json; the embedded LocalStack links it into its data dir.
KINESIS_DIR := $(VENV)/share/kinesis-local/0.5.2
KINESIS_STAMP := $(KINESIS_DIR)/.installed-stamp
KINESIS_SRC := tutor/cloud/kinesis_mock

$(KINESIS_STAMP): $(KINESIS_SRC)/package-lock.json $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(KINESIS_DIR) && cp $(KINESIS_SRC)/package.json $(KINESIS_SRC)/package-lock.json $(KINESIS_DIR)/ \
		&& npm ci --prefix $(KINESIS_DIR) --no-audit --no-fund --loglevel=error && touch $@ \
		|| echo "warning: npm ci failed; Kinesis (lab 11) will be unavailable" >&2; \
	else echo "note: npm not found; Kinesis (lab 11) will be unavailable" >&2; fi

# The tutor's own modules are compiled here, as pip compiles an installed package: where
# PYTHONDONTWRITEBYTECODE is set (many containers, this project's CI machines) Python
# would otherwise compile them again at every start (about 60 ms of the first paint).
# Up-to-date files are skipped, so this costs a fraction of a second.
install: $(STAMP) $(NODE_STAMP) $(KINESIS_STAMP)
	@$(BIN)/python -m compileall -q -j0 tutor >/dev/null && $(BIN)/python -m compileall -q -l labs/*/ >/dev/null

run: install
	$(BIN)/tutor

lint: install
	$(BIN)/ruff check tutor tests bench labs
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

content: install
	$(BIN)/tutor dev check --content-only

unit: install browser terminal sandbox
	$(BIN)/pytest

# What the real-parts tests need from the system, installed with apt when missing and we
# are root (as in CI); otherwise a note: the tests that need it skip, and fail under CI.
# $(call apt_need,CHECK,PACKAGE,WHAT NEEDS IT)
define apt_need
	@if $(1) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing $(2) for $(3)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) \
		|| { echo "error: could not install $(2) (needed by $(3))" >&2; exit 2; }; \
	else echo "note: $(2) is needed by $(3): sudo apt-get install -y $(2)" \
		"(skipped without it; fails under CI)" >&2; fi
endef

# tests/serve drives Debian's Chromium headless (`tutor serve` in a real browser), about 30 s.
browser:
	$(call apt_need,test -x /usr/bin/chromium,chromium,the browser tests (tests/serve))

# tests/e2e drives the real `tutor` in tmux.
terminal:
	$(call apt_need,command -v tmux,tmux,the end-to-end tests (tests/e2e))

# A public `tutor serve` runs learner programs and Lambda handlers in bubblewrap (and
# refuses to start without it); tests/reliability/test_sandbox_attacks.py attacks it.
sandbox:
	$(call apt_need,command -v bwrap,bubblewrap,the sandbox and its tests)

test: lint typecheck content unit

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
