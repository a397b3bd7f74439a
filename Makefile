# The two commands a newcomer needs: `make demo` (a real sync into the local Twenty emulator) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint bench reliability image image-test pyairbyte-test

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

# The connector image, with docker or podman (whichever works); IMAGE=<registry>/destination-twenty:<tag> to rename,
# BUILD_ARGS="--build-arg BASE_IMAGE=..." for a mirror of the base (docs/airbyte.md).
IMAGE ?= airbyte/destination-twenty:dev
BUILD_ARGS ?=
image:
	scripts/image/build.sh $(IMAGE) $(BUILD_ARGS)

# Build the image on a local stand-in for Airbyte's base and run it as Airbyte does (docs/airbyte.md). Root or sudo.
image-test: setup
	scripts/image/test.sh

# A real PyAirbyte pipeline (source-faker -> destination-twenty -> emulator), in venvs of its own; see docs/airbyte.md.
pyairbyte-test: setup
	bash scripts/pyairbyte_e2e.sh
