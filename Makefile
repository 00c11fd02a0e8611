# Two commands do everything on a fresh machine:
#   make run    set up, then open the dashboard on the bundled checkpoint
#   make test   set up (Python packages and Debian's Chromium), then run every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: setup run test test-fast test-soak lint format browser-deps bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT)

# Debian's Chromium for the browser tests (never `playwright install`: it downloads a browser build).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

test: setup browser-deps
	$(PY) -m pytest -q -m "not soak"

# The endurance variants: 20 SIGKILLs during checkpoint writes, 20 browser sessions for a minute (several minutes).
test-soak: setup browser-deps
	$(PY) -m pytest -q -m soak

# Unit and AppTest tests only: no browser, nothing marked slow (under a minute).
test-fast: setup
	$(PY) -m pytest -q -m "not browser and not slow and not soak"

# ruff: lint and formatting, configured in pyproject.toml. CI runs this before the tests.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: setup
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
