# Countersign: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench browser clean messages screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/python app.py

browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing chromium and chromium-driver with apt-get..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing chromium and chromium-driver with sudo apt-get..."; \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "Chromium or chromedriver is missing and cannot be installed here:"; \
		echo "  install the Debian packages chromium and chromium-driver; browser tests will be skipped."; \
	fi

# the suite in TEST_WORKERS processes (browser tests one after another in one of them)
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test browser
	$(BIN)/pytest --headless -n $(TEST_WORKERS)

# the UI's message ids, extracted from the code and merged into every catalogue (data/i18n.py)
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header \
		-o instance/messages.pot app.py data pages components api links
	$(BIN)/pybabel update -i instance/messages.pot -d data/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100

# PNGs of the main screens from the demo, for the README (docs/screenshots/)
screenshots: $(VENV)/.installed-test browser
	$(BIN)/python docs/make_screenshots.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance/countersign.db*

bench: $(VENV)/.installed-test
	$(BIN)/python -m tests.perf.bench_grid
	$(BIN)/python -m tests.perf.bench_import
	$(BIN)/python -m tests.perf.bench_dashboards
	$(BIN)/python -m tests.perf.bench_approvals
	$(BIN)/python -m tests.perf.bench_http
	$(BIN)/python -m tests.perf.bench_api
	$(BIN)/python -m tests.perf.soak
