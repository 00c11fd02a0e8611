# Two commands do everything on a fresh machine:
#   make run    set up, then open the dashboard on the bundled checkpoint
#   make test   set up (Python packages and Debian's Chromium), then run every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: setup run test test-fast test-soak lint format browser-deps bench bundled-cache gpu-checkpoints gpu-smoke clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT)

# The bundled checkpoints' first-start results (labels, the demo's direction and measured edit, the components), in
# checkpoints/first-start/<key>/ where every server reads them: run it after retraining or replacing a bundled checkpoint
# (tests/test_bundled_cache.py fails until then). About 40 s a checkpoint on one core.
bundled-cache: setup
	$(PY) -m dashboard.bundled_cache

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

# The GPU targets run on the first Python whose torch sees a CUDA GPU and has what training needs: the venv's, else
# the system's (a GPU image's own CUDA build of torch), so a working torch is never reinstalled; only when neither
# has, `make setup` builds the venv (benchmarks/gpu_python.sh).
GPU_PYTHON = py=$$(sh benchmarks/gpu_python.sh "$(PY)" "$(PYTHON)")

# Retrain the bundled models on one GPU with their recipes (`ganlib info --json checkpoints/NAME.safetensors` shows
# each one's training.config), every run capped by --max-minutes: 5.5 minutes of training, leaving about 3.5 of a
# 9-minute slot for rendering 100,000 toonfaces and starting torch three times (an estimate, not yet timed on a
# GPU). Runs go to runs/gpu/ and the fp16 copies to runs/gpu/NAME-gpu.safetensors, where the tests do not look:
# `evaluate --write-metadata` each one and compare it with the bundled file before copying it into checkpoints/
# (README, "On a GPU"), then `make bundled-cache`.
GPU_RUNS ?= runs/gpu
gpu-checkpoints:
	@set -e; $(GPU_PYTHON); \
	$$py -m ganlib train --device cuda --dataset toonfaces --image-size 64 --num-images 100000 --generator-width 48 \
	  --discriminator-width 32 --steps 30000 --instance-noise 0.1 --keep-checkpoints --checkpoint-every 500 \
	  --sample-every 250 --max-minutes 3.5 --quiet --out $(GPU_RUNS)/toonfaces64; \
	$$py -m ganlib train --device cuda --dataset toonfaces --image-size 32 --steps 8000 --sample-every 250 \
	  --max-minutes 1.25 --quiet --out $(GPU_RUNS)/toonfaces32; \
	$$py -m ganlib train --device cuda --dataset digits --image-size 32 --steps 2500 --sample-every 250 \
	  --max-minutes 0.75 --quiet --out $(GPU_RUNS)/digits32; \
	for name in toonfaces64 toonfaces32 digits32; do \
	  $$py -m ganlib export $(GPU_RUNS)/$$name/generator.safetensors --half --out $(GPU_RUNS)/$$name-gpu.safetensors \
	    --notes "trained by make gpu-checkpoints on one GPU (the training metadata names it)"; done

# Every GPU path in a few minutes (at most 8 on one GPU), one table, a non-zero exit on any failure
# (benchmarks/gpu_smoke.py; its CPU variant runs in the test suite).
gpu-smoke:
	@set -e; $(GPU_PYTHON); $$py -m benchmarks.gpu_smoke --device cuda

bench: setup
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
