# One entry point for people and CI. `make demo` and `make check` are the README's two commands.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo lint test test-slow check bench clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# compat mode: a plain .pth path entry, no import hook on every start of git-run
	$(BIN)/pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $@

install: $(BIN)/.installed

demo: install
	PATH="$(abspath $(BIN)):$$PATH" bash examples/demo.sh

lint: install
	$(BIN)/ruff check gitrun tests bench
	$(BIN)/mypy

# The fast loop: lint, types and every test not marked slow (kept under 3 minutes on 2 cores).
test: lint
	$(BIN)/pytest -n 2 -q -m "not slow"

# Slow integration tests only (real frameworks, large data, long-running processes).
test-slow: install
	$(BIN)/pytest -n 2 -q -m slow -p no:cacheprovider || [ $$? -eq 5 ]

# The whole suite: what the README's second command and .ci/run run.
check: test test-slow

bench: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
