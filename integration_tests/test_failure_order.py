"""Issue 19, items 2 and 4: after a failure no later STATE leaves, and the first real cause of a failure is the
one reported. Through the console script against the emulator; its latency and 429 faults set the order."""

import os

import pytest

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator

BAD = {"emails.primaryEmail": "bad@order.example", "jobTitle": ["a", "list"]}  # refused by the mapping


def good(n):
    return {"emails.primaryEmail": f"p{n}@order.example"}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to play a full disk")
def test_a_rejected_file_that_cannot_be_written_echoes_no_later_state(tmp_path):
    """Item 2: the first batch is slow, so the rejection and both STATEs queue behind it; writing the rejection
    to a full disk fails, and neither STATE may leave (the first would count a rejection never written)."""
    with run_emulator("--rate-limit", "off", "--faults", "latency=400:1.0", api_key=API_KEY) as emulator:
        config = config_for(
            emulator, "people", partial_success=True, batch_size=1, rejected_records_path="/dev/full"
        )
        messages = [
            record("people", good(1)),
            record("people", BAD),
            state("people", 2, 1),
            record("people", good(3)),
            state("people", 3, 2),
        ]
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
        stored = emulator.records("people")
    assert run.returncode == 1
    assert run.states == [], run.states
    (error,) = run.errors
    assert "rejected" in error["message"].lower() and "/dev/full" in error["message"], error
    assert "No space left on device" in error["message"]
    (summary,) = [line for line in run.logs if line.startswith("Sync summary")]
    assert f"created {len(stored)}," in summary  # what landed is still counted exactly


def test_a_rejection_wins_over_the_429_its_stop_caused(tmp_path):
    """Item 4: without partial success, record 2 is rejected while batch 1 is in flight; batch 1's answer is
    then a 429, which a stopping sync does not retry. The sync fails for record 2, naming it, not as an
    outage."""
    # /rest/ request 1 is the metadata read; 2 is batch 1, held 400 ms and answered 429.
    faults = ("--faults", "latency=400@2,429@2")
    with run_emulator("--rate-limit", "off", *faults, api_key=API_KEY) as emulator:
        config = config_for(emulator, "people", batch_size=1, max_concurrent_requests=4)
        messages = [record("people", good(1)), record("people", BAD), state("people", 2, 1)]
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
        (batch,) = [r for r in emulator.requests() if r["path"] == "/rest/batch/people"]
        assert batch["fault"] == "429"  # the order the test is about happened
        stored = emulator.records("people")
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error", error
    assert error["message"].startswith("Record 2 of stream 'people' was rejected, field 'jobTitle'"), error
    assert stored == [] and run.states == []
    (summary,) = [line for line in run.logs if line.startswith("Sync summary")]
    assert "created 0, updated 0, rejected 1" in summary


def test_fail_fast_under_the_rate_limit_with_four_in_flight(tmp_path):
    """Item 11: the fail-fast sync of test_accounting, but throttled (3 calls a second) with 4 batches in flight,
    so batches meet 429s while the rejection stops the sync: the rejection is still the reported cause, and the
    summary and the state's stats equal what is stored."""
    rows = [{"email": f"p{n}@throttled.example", "n": n} for n in range(1, 601)]
    rows[40]["company"] = "00000000-0000-4000-8000-00000000c0de"  # Twenty refuses this one (foreign key)
    mapping = [
        {"column": "n", "field": "jobTitle", "transforms": ["to_string"]},
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "company", "field": "companyId"},
    ]
    with run_emulator("--rate-limit", "3/1", api_key=API_KEY) as emulator:
        config = config_for(
            emulator, "people", column_mapping=mapping, batch_size=30, max_concurrent_requests=4
        )
        messages = [record("users", row) for row in rows[:30]] + [state("users", 30, 1)]
        messages += [record("users", row) for row in rows[30:]] + [state("users", 600, 2)]
        run = run_connector(["write"], tmp_path, config, catalog_for("users"), messages)
        stored = emulator.records("people")
        throttled = [r for r in emulator.requests() if r["status"] == 429]
    assert throttled, "the emulator never throttled: this test would not see the interleaving it is about"
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error", error
    assert error["message"].startswith("Record 41 of stream 'users' was rejected"), error
    (summary,) = [line for line in run.logs if line.startswith("Sync summary")]
    assert f"created {len(stored)}, updated 0, rejected 1" in summary, summary
    assert [s["id"] for s in run.states] in ([], [1])
    for echoed in run.states:  # state 1 counts the first 30 records, all stored
        assert echoed["destinationStats"] == {"recordCount": 30.0}
        assert {int(p["jobTitle"]) for p in stored} >= set(range(1, 31))
