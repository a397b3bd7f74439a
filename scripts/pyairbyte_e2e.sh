#!/usr/bin/env bash
# `make pyairbyte-test`: the PyAirbyte end-to-end test (e2e/test_pyairbyte.py) with the two virtualenvs it needs.
# PyAirbyte (airbyte-cdk 7) and airbyte-source-faker (airbyte-cdk < 7) cannot share an environment with each other
# or with the connector, so each gets its own, installed from a full pin list (e2e/requirements-*.txt) so that a
# new release of some transitive dependency cannot change the test. A venv is rebuilt only when its pins change.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# PyAirbyte 0.71 requires Python >= 3.10, < 3.13.
if ! "$PYTHON" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] < (3, 13)))'; then
    echo "pyairbyte-test needs Python 3.10-3.12 for PyAirbyte; set PYTHON=python3.12 (got $("$PYTHON" -V))" >&2
    exit 2
fi

venv_from() {  # venv_from DIR PIN_FILE: (re)create DIR from PIN_FILE unless it was built from this same file
    local dir=$1 pins=$2
    if [ -f "$dir/.pins" ] && cmp -s "$pins" "$dir/.pins"; then
        return
    fi
    echo "creating $dir from $pins"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    "$dir/bin/pip" install -q --no-deps -r "$pins"
    "$dir/bin/pip" check
    cp "$pins" "$dir/.pins"
}

venv_from .venv-pyairbyte e2e/requirements-pyairbyte.txt
venv_from .venv-faker e2e/requirements-faker.txt

exec .venv/bin/pytest e2e/test_pyairbyte.py -q -p no:cacheprovider "$@"
