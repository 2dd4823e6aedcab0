# Everyday tasks. `make run` and `make test` set everything up on a fresh machine (Python 3.11).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite chromium screenshots messages lint format typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## migrate, load the demo data, serve the pages at http://$(HOST):$(PORT)/
	$(BIN)/koopmatch migrate
	$(BIN)/koopmatch seed
	@echo "open http://$(HOST):$(PORT)/ and sign in as demo-member@koopmatch.example / koopmatch-demo"
	$(BIN)/koopmatch serve --host $(HOST) --port $(PORT)

# the browser tests drive Debian's Chromium (Playwright cannot download its own browsers here)
chromium:
	command -v chromium || (apt-get update && apt-get install -y chromium)

test: $(STAMP) chromium  ## the whole suite, on SQLite and PostgreSQL, browser tests included
	$(BIN)/pytest -q

test-sqlite: $(STAMP) chromium
	$(BIN)/pytest -q -k "not postgresql"

# the README's screenshots: the browser journeys (SQLite) save them into docs/screenshots/;
# other test runs save them into a temporary directory and leave the working tree alone
screenshots: $(STAMP) chromium
	KOOPMATCH_SCREENSHOTS=1 $(BIN)/pytest -q tests/web/test_member_journey.py tests/web/test_organizer_journey.py tests/web/test_curator_journey.py -k sqlite

messages: $(STAMP)  ## re-extract the pages' strings into the German and English catalogues
	$(BIN)/pybabel extract -F app/babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output -w 100 -o app/locale/messages.pot .
	$(BIN)/pybabel update -i app/locale/messages.pot -d app/locale -w 100 --no-fuzzy-matching --ignore-obsolete
	rm app/locale/messages.pot

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
