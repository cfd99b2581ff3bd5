# Two entry points for a fresh machine (Python 3.11+, bash, make); see README.md.
#   make run   install into .venv, refresh the warehouse from the offline default, serve the app
#   make test  install with the test extras (and Debian's chromium for the browser tests), run all
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench clean

run: $(VENV)/.installed
	$(BIN)/python -m compileall -q -j 0 app flows indicators warehouse
	$(BIN)/citybench refresh
	$(BIN)/citybench app

# citybench's own modules compiled first: where PYTHONDONTWRITEBYTECODE is set (as on this
# machine), every process the suite starts (each `citybench`, app and Prefect engine) would
# otherwise compile them again from source.
test: $(VENV)/.installed-test /usr/bin/chromium
	$(BIN)/python -m compileall -q -j 0 app flows indicators warehouse
	CITYBENCH_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder --durations=10

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# The validation benchmark needs nothing beyond the runtime dependencies (polars among them);
# its pandera.ibis case runs when ibis-framework[duckdb] is installed by hand.
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks

# The packages are installed by uv (into the venv, from the registry): on a fresh machine the
# test install takes ~20 s, pip's took ~51 s, the same versions. Compiled at install: with
# PYTHONDONTWRITEBYTECODE set (as here), a module left uncompiled is compiled again by every
# process that imports it (the suite took 2 min longer).
UV := $(BIN)/python -m uv pip install --python $(BIN)/python --compile-bytecode --quiet

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv>=0.13,<0.14'

$(VENV)/.installed: pyproject.toml | $(BIN)/uv
	$(UV) -e .
	touch $@

# One resolution of everything, not the runtime's and then the extras'; the runtime is then
# installed too.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/uv
	$(UV) -e '.[test]'
	touch $@ $(VENV)/.installed

# The browser tests drive Debian's Chromium; Playwright's own browser download is never used.
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq chromium

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
