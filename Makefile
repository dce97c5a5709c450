# One command to set up and run the demo, one to set up and run the tests.
# Everything installs into ./.venv from pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

## Analyse the bundled sample clip; prints where the outputs are.
demo: $(STAMP)
	$(VENV)/bin/kneevision demo

## Lint, then the whole test suite.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Benchmarks (print figures; not part of the tests).
bench: $(STAMP)
	$(PY) benchmarks/kinematics_speed.py
	$(PY) benchmarks/fppa_camera_tolerance.py
	$(PY) benchmarks/throughput.py samples/front_goblet_squat_home_A.mp4

clean:
	rm -rf $(VENV) kneevision-out .pytest_cache .ruff_cache
