# The two commands a newcomer needs: `make demo` (a real sync into the local Twenty emulator) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint bench reliability

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(PY) scripts/demo.py

# Parallel workers: most of a test's time is spent waiting on the connector and emulator subprocesses, so four
# workers keep two cores busy. Every worker starts its own emulators on ports the OS picks. TEST_WORKERS=0 runs
# in one process. Tests that build on each other stay on one worker (conftest.py).
TEST_WORKERS ?= 4

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --durations=10

lint: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	$(PY) bench/run_all.py

reliability: setup
	$(PY) scripts/reliability_report.py
