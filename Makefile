# Everyday tasks. `make run` and `make test` set everything up on a fresh machine (Python 3.11).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite lint format typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## migrate, load the demo data, serve on http://$(HOST):$(PORT)
	$(BIN)/koopmatch migrate
	$(BIN)/koopmatch seed
	$(BIN)/koopmatch serve --host $(HOST) --port $(PORT)

test: $(STAMP)  ## the whole suite, on SQLite and PostgreSQL
	$(BIN)/pytest -q

test-sqlite: $(STAMP)
	$(BIN)/pytest -q -k "not postgresql"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app matching tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format app matching tests benchmarks
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.quality
	$(BIN)/python -m benchmarks.scheduling
	$(BIN)/python -m benchmarks.labels
	$(BIN)/python -m benchmarks.curation

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache koopmatch.db*
