# Every target sets up what it needs: a virtualenv in .venv with the project
# and its test tools installed (re-done when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check unit integration browser schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## The whole pipeline on synthetic traffic: local broker, embedded ClickHouse, a summary.
demo: $(STAMP)
	$(BIN)/cx demo

## Lint, types, contract files, then every test (unit and integration).
test: check
	$(BIN)/pytest -q

check: $(STAMP)
	$(BIN)/ruff check schemas streams tests
	$(BIN)/ruff format --check schemas streams tests
	$(BIN)/mypy
	$(BIN)/python -m schemas.jsonschema --check

## Unit tests only: no broker, no ClickHouse.
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

## Integration tests only: a real tansu broker and the embedded ClickHouse.
integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

## The web UI in a headless Chromium (Debian's /usr/bin/chromium; skipped without it).
browser: $(STAMP)
	$(BIN)/pytest -q tests/browser

## Regenerate schemas/json/ from the models after a contract change.
schemas: $(STAMP)
	$(BIN)/python -m schemas.jsonschema

clean:
	rm -rf $(VENV) .cx-data .pytest_cache .mypy_cache .ruff_cache *.egg-info
