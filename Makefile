# Two entry points for a fresh machine (Python 3.11+, bash, make); see README.md.
#   make run   install into .venv, refresh the warehouse from the offline default, serve the app
#   make test  install with the test extras (and Debian's chromium for the browser tests), run all
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench clean

run: $(VENV)/.installed
	$(BIN)/citybench refresh
	$(BIN)/citybench app

test: $(VENV)/.installed-test /usr/bin/chromium
	CITYBENCH_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder --durations=10

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# The validation benchmark needs nothing beyond the runtime dependencies (polars among them);
# its pandera.ibis case runs when ibis-framework[duckdb] is installed by hand.
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -e .
	touch $@

# One resolution of everything, not the runtime's and then the extras' (~15 s less on a fresh
# machine); the runtime is then installed too. --no-compile: Python compiles what it imports
# when it first does (a fraction of the packages), not every module at install (28 s, not 51).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -e '.[test]'
	touch $@ $(VENV)/.installed

# The browser tests drive Debian's Chromium; Playwright's own browser download is never used.
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq chromium

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
