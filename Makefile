# Two commands do everything on a fresh machine:
#   make run    set up, then open the dashboard on the bundled checkpoint
#   make test   set up (Python packages and Debian's Chromium), then run every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: setup run test test-fast test-soak lint format browser-deps bench gpu-checkpoints clean

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

# Retrain the bundled models on one GPU within a single 9-minute command (each run capped by --max-minutes), then
# write fp16 copies beside the CPU ones, checkpoints/*-gpu.safetensors, whose metadata names the GPU. Compare them
# with `python -m ganlib evaluate ... --quality-only` before replacing a bundled file.
GPU_RUNS ?= runs/gpu
gpu-checkpoints: setup
	$(PY) -m ganlib train --device cuda --dataset toonfaces --image-size 64 --generator-width 64 \
	  --discriminator-width 64 --batch-size 256 --steps 1000000 --instance-noise 0.1 --instance-noise-steps 20000 \
	  --max-minutes 5.5 --keep-checkpoints --checkpoint-every 2000 --quiet --out $(GPU_RUNS)/toonfaces64
	$(PY) -m ganlib train --device cuda --dataset toonfaces --image-size 32 --batch-size 256 --steps 1000000 \
	  --max-minutes 1.5 --quiet --out $(GPU_RUNS)/toonfaces32
	$(PY) -m ganlib train --device cuda --dataset digits --image-size 32 --batch-size 128 --steps 1000000 \
	  --max-minutes 1 --quiet --out $(GPU_RUNS)/digits32
	for name in toonfaces64 toonfaces32 digits32; do \
	  $(PY) -m ganlib export $(GPU_RUNS)/$$name/generator.safetensors --half --out checkpoints/$$name-gpu.safetensors \
	    --notes "trained by make gpu-checkpoints on one GPU (the training metadata names it)"; done

bench: setup
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
