"""Issue 19, item 5: whether a server can upsert over GraphQL is decided by Twenty's own answer only. A 503 or a
429 while check or write asks is an outage: retried within the budget, then a transient_error, never "upgrade
Twenty" (check) or a config_error (write), which the platform would not retry."""

import pytest

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator

MAPPING = [{"column": "email", "field": "emails.primaryEmail"}]
# check's calls on the v1.3 line: metadata (1), the read probe (2), the empty REST batch (3), then /graphql (4…).
CHECK_GRAPHQL = 4


def _graphql_faults(emulator):
    return [r for r in emulator.requests() if r["path"] == "/graphql" and r["fault"]]


@pytest.mark.parametrize("kind", ["503", "429"])
def test_check_retries_a_probe_that_met_an_outage_once(kind, tmp_path):
    with run_emulator(
        "--rate-limit", "off", "--faults", f"{kind}@{CHECK_GRAPHQL}", api_key=API_KEY, twenty_version="v1.3"
    ) as emulator:
        run = run_connector(["check"], tmp_path, config_for(emulator, "people", check_retry_seconds=10))
        assert len(_graphql_faults(emulator)) == 1  # the fault met the probe
    assert run.status["status"] == "SUCCEEDED", run.status
    assert any("go through GraphQL" in line for line in run.logs)


@pytest.mark.parametrize("kind", ["503", "429"])
def test_check_reports_a_persisting_outage_of_the_probe_as_an_outage(kind, tmp_path):
    faults = f"{kind}@" + ";".join(str(n) for n in range(CHECK_GRAPHQL, CHECK_GRAPHQL + 40))
    with run_emulator(
        "--rate-limit", "off", "--faults", faults, api_key=API_KEY, twenty_version="v1.3"
    ) as emu:
        run = run_connector(["check"], tmp_path, config_for(emu, "people", check_retry_seconds=1))
        assert _graphql_faults(emu)
    assert run.status["status"] == "FAILED"
    message = run.status["message"]
    assert "Upgrade Twenty" not in message and "could not be reached or kept failing" in message, message


def test_write_ends_a_persisting_outage_of_the_probe_as_a_transient_error(tmp_path):
    # The first sync stores the record (metadata 1, batch 2); the second meets it: metadata 3, the REST batch
    # answers the v1.3 duplicate error (4), and the switch to GraphQL probes /graphql from 5 on, all 503.
    faults = "503@" + ";".join(str(n) for n in range(5, 45))
    with run_emulator(
        "--rate-limit", "off", "--faults", faults, api_key=API_KEY, twenty_version="v1.3"
    ) as emu:
        config = config_for(emu, "people", column_mapping=MAPPING, max_retry_seconds=1)
        messages = [record("users", {"email": "probe@outage.example"}), state("users", 1, 1)]
        first = run_connector(["write"], tmp_path, config, catalog_for("users"), messages)
        assert first.returncode == 0, first.stdout
        again = run_connector(["write"], tmp_path, config, catalog_for("users"), messages)
        assert _graphql_faults(emu)
        assert len(emu.records("people")) == 1
    assert again.returncode == 1
    (error,) = again.errors
    assert error["failure_type"] == "transient_error", error
    assert "Upgrade Twenty" not in error["message"]
    assert again.states == []
