# Two commands from a fresh clone: `make run` (the tutor) and `make test` (the suite).
# Both create .venv with Python 3.13 and install exactly the pins in constraints.txt.

PYTHON ?= $(shell command -v python3.13 2>/dev/null)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck unit devcheck bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.13 not found on PATH — install it (e.g. 'pyenv install 3.13') and rerun" >&2; exit 2; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { echo "error: $(PYTHON) is not Python 3.13 — set PYTHON=/path/to/python3.13" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tutor

lint: install
	$(BIN)/ruff check tutor tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

test: lint typecheck unit

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
