# One entry point for people and CI. `make demo` and `make check` are the README's two commands.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-extras demo lint test test-slow check bench clean man

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# setuptools' editable install of a flat layout imports a finder module at every interpreter start
	# (about 30 ms on every git-run and every Python a run starts): swap its .pth for a plain path entry.
	# (No editable_mode=compat: it is deprecated; strict mode's link tree misses files added later.)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -c 'import pathlib, site; [p.write_text("$(CURDIR)\n") for d in site.getsitepackages() for p in pathlib.Path(d).glob("__editable__.gitrun-*.pth")]'
	# An editable install leaves out data files: put the man page where `git run --help` (man) finds it.
	mkdir -p $(VENV)/share/man/man1 && cp man/git-run.1 $(VENV)/share/man/man1/
	touch $@

install: $(BIN)/.installed

# Heavy packages only the slow integration tests need (real frameworks, other trackers, schedulers): the
# `test-integrations` extra of pyproject.toml, installed beside the editable gitrun without reinstalling it.
$(BIN)/.extras: pyproject.toml $(BIN)/.installed
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test-integrations"]))' > $(VENV)/extras.txt
	$(BIN)/pip install -q -r $(VENV)/extras.txt
	touch $@

install-extras: $(BIN)/.extras

demo: install
	PATH="$(abspath $(BIN)):$$PATH" bash examples/demo.sh

lint: install
	$(BIN)/ruff check gitrun tests bench
	$(BIN)/mypy

# The fast loop: lint, types and every test not marked slow (kept under 3 minutes on 2 cores).
test: lint
	$(BIN)/pytest -n 2 -q -m "not slow"

# Slow integration tests only (real frameworks, large data, long-running processes).
test-slow: install-extras
	$(BIN)/pytest -n 2 -q -m slow -p no:cacheprovider || [ $$? -eq 5 ]

# The whole suite: what the README's second command and .ci/run run.
check: test test-slow

bench: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/run.py

# The man page git-run(1) is generated from the click help; tests/test_manpage.py says when to rerun this.
man: install
	$(BIN)/git-run manpage > man/git-run.1

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
