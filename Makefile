# Two entry points (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One stamp per set of extras: the demo needs the sandbox only, the tests everything.
DEMO_STAMP      := $(VENV)/.installed-sandbox
NOTEBOOKS_STAMP := $(VENV)/.installed-notebooks
DEV_STAMP       := $(VENV)/.installed-dev

.PHONY: demo test test-quick lint lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[sandbox]'
	touch $@

$(NOTEBOOKS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[notebooks]'
	touch $@ $(DEMO_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(NOTEBOOKS_STAMP) $(DEMO_STAMP)

## Run the main job on the local sandbox (no key needed): clips, a sweep and a report under out/.
demo: $(DEMO_STAMP)
	$(BIN)/happyhorse demo --out out

## The whole test suite, browser tests included (they need /usr/bin/chromium).
## Two workers: the browser tests share one (one JupyterLab, one Chromium), the rest spread.
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup

## Everything but the real-browser tests.
test-quick: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup -m "not browser"

lint: $(DEV_STAMP)
	$(BIN)/ruff check hh_notebook tests benchmarks conftest.py

## Open the example notebooks in JupyterLab, on the sandbox.
lab: $(NOTEBOOKS_STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf out test-artifacts .pytest_cache
