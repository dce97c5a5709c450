# One command to set up and run the demo, one to set up and run the tests.
# Everything installs into ./.venv from pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Debian packages the tests use to look at outputs as a person does: headless
# Chromium renders report.html, poppler-utils renders report.pdf, Xvfb hosts the
# live window and xdotool presses its keys. Installed once (apt-get, as root) when missing.
SYSTEM_DEPS := chromium chromium-driver poppler-utils xvfb xdotool

.PHONY: setup system-deps demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

## Analyse the bundled sample clip; prints where the outputs are.
demo: $(STAMP)
	$(VENV)/bin/kneevision demo

system-deps:
	@missing=$$(for p in $(SYSTEM_DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		(apt-get install -y -qq $$missing >/dev/null 2>&1 || \
		 (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null)); \
	fi

## Lint, then the whole test suite.
test: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Benchmarks (print figures; not part of the tests).
bench: $(STAMP)
	$(PY) benchmarks/kinematics_speed.py
	$(PY) benchmarks/fppa_camera_tolerance.py
	$(PY) benchmarks/throughput.py samples/front_goblet_squat_home_A.mp4
	$(PY) benchmarks/live_latency.py
	$(PY) benchmarks/batch_scaling.py
	$(PY) benchmarks/marker_accuracy.py
	$(PY) benchmarks/mirror_symmetry.py

clean:
	rm -rf $(VENV) kneevision-out kneevision-live .pytest_cache .ruff_cache
