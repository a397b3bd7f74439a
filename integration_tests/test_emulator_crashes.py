"""Issue 19, item 11: the emulator answers a crash of its own with a generic 500, which the connector retries as
an outage, so a sync can succeed over an emulator bug. The harness fails a test whenever the emulator crashed:
shown here once, on a crash injected on purpose (`--faults crash@N`)."""

import pytest

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator


def _sync(emulator, tmp_path):
    messages = [record("people", {"emails.primaryEmail": "crash@emu.example"}), state("people", 1, 1)]
    return run_connector(["write"], tmp_path, config_for(emulator, "people"), catalog_for("people"), messages)


def test_a_test_fails_when_the_emulator_crashed_though_the_sync_succeeded(tmp_path):
    with (
        pytest.raises(AssertionError, match=r"(?s)internal error.*injected crash"),
        run_emulator("--rate-limit", "off", "--faults", "crash@2", api_key=API_KEY) as emulator,
    ):
        run = _sync(emulator, tmp_path)
        # The connector retried the 500 and the record landed: only the check at the block's end sees the bug.
        assert run.returncode == 0, run.stdout
        assert len(emulator.records("people")) == 1
        assert [r["status"] for r in emulator.requests() if r["path"] == "/rest/batch/people"] == [500, 201]


def test_the_check_can_be_read_directly_and_is_cleared_by_a_reset(tmp_path):
    with run_emulator(
        "--rate-limit", "off", "--faults", "crash@2", api_key=API_KEY, check_errors=False
    ) as emulator:
        _sync(emulator, tmp_path)
        (error,) = emulator.internal_errors()
        assert "POST /rest/batch/people" in error and "Traceback" in error
        with pytest.raises(AssertionError):
            emulator.check_no_internal_errors()
        emulator.reset()
        assert emulator.internal_errors() == []
        emulator.check_no_internal_errors()
