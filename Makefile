# Two entry points (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-quick lint lab clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

## Run the main job on the local sandbox (no key needed): clips, a sweep and a report under out/.
demo: $(STAMP)
	$(BIN)/happyhorse demo --out out

## The whole test suite, browser tests included (they need /usr/bin/chromium).
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

## Everything but the real-browser tests.
test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check hh_notebook tests benchmarks

## Open the example notebooks in JupyterLab, on the sandbox.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf out test-artifacts .pytest_cache
