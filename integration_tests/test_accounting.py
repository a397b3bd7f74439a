"""Counts that equal what Twenty holds, on every exit path (issue 8, items 2-4 and 16; the fail-fast half of
issue 9): a new version in create mode, identical rows without a key, a sync that fails part-way."""

import re

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator

PEOPLE = [
    {"column": "id", "field": "jobTitle", "transforms": ["to_string"]},  # a visible copy of the source key
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]
MISSING_COMPANY = "00000000-0000-4000-8000-00000000c0de"  # a valid UUID no company has: Twenty refuses it


def counts(run, stream):
    (line,) = [line for line in run.logs if line.startswith("Sync summary")]
    part = re.search(rf"stream '{stream}': ([^;]*)", line).group(1)
    return {name.strip(): int(n) for name, n in re.findall(r"([a-z ]+) (\d+)", part)}


def test_create_mode_tells_a_retry_from_a_new_version(emulator, tmp_path):
    """Item 2: with upsert off, the same primary key with the same values is a record already written; with
    different values it is a new version, which create mode must not silently drop and count as created."""
    config = config_for(emulator, "people", column_mapping=PEOPLE, upsert=False, partial_success=True)
    catalog = catalog_for("users", primary_key=[["id"]])
    first = [record("users", {"id": 1, "email": "a@acct.example", "first": "Ada"}), state("users", 1, 1)]
    run = run_connector(["write"], tmp_path, config, catalog, first)
    assert run.returncode == 0, run.stdout
    assert counts(run, "users") == {"created": 1, "updated": 0, "rejected": 0}

    again = run_connector(["write"], tmp_path, config, catalog, first)  # a resumed or repeated sync
    assert again.returncode == 0, again.stdout
    assert counts(again, "users") == {"created": 0, "updated": 0, "already stored": 1, "rejected": 0}
    assert again.states[-1]["destinationStats"] == {"recordCount": 1.0}

    changed = [
        record("users", {"id": 1, "email": "a@acct.example", "first": "Zed"}),
        record("users", {"id": 2, "email": "b@acct.example", "first": "Bo"}),
        record("users", {"id": 2, "email": "b@acct.example", "first": "Bob"}),  # a new version in one sync
        state("users", 2, 2),
    ]
    third = run_connector(["write"], tmp_path, config, catalog, changed)
    assert third.returncode == 0, third.stdout
    reasons = {e["message"].split(" was rejected")[0]: e["message"] for e in third.errors}
    assert set(reasons) == {"Record 1 of stream 'users'", "Record 3 of stream 'users'"}
    assert all("turn upsert on" in m for m in reasons.values())
    assert (
        "'Ada'" in reasons["Record 1 of stream 'users'"] and "'Zed'" in reasons["Record 1 of stream 'users'"]
    )
    assert counts(third, "users") == {"created": 1, "updated": 0, "rejected": 2}
    assert third.states[-1]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 2.0}
    stored = {p["jobTitle"]: p["name"]["firstName"] for p in emulator.records("people")}
    assert stored == {"1": "Ada", "2": "Bo"}  # nothing overwritten, nothing lost


def test_identical_rows_without_a_key_stay_distinct_and_replay_exactly(emulator, tmp_path):
    """Item 3: two identical key-less rows are two records, counted two; a replay from the last state (what
    the platform does after a crash) finds them stored instead of duplicating them."""
    config = config_for(emulator, "notes", partial_success=True)
    catalog = catalog_for("memos", mode="append")
    row = {"title": "Call back"}
    messages = [
        record("memos", row),
        record("memos", row),
        state("memos", 1, 1),
        record("memos", {"title": "x"}),
    ]
    run = run_connector(["write"], tmp_path, config, catalog, messages)
    assert run.returncode == 0, run.stdout
    assert counts(run, "memos") == {"created": 3, "updated": 0, "rejected": 0}
    assert len(emulator.records("notes")) == 3
    replay = run_connector(["write"], tmp_path, config, catalog, messages)
    assert replay.returncode == 0, replay.stdout
    # Upserted on the ids the first run gave them: matched, not duplicated.
    assert counts(replay, "memos") == {"created": 0, "updated": 3, "rejected": 0}
    assert len(emulator.records("notes")) == 3
    assert [s["destinationStats"] for s in replay.states] == [{"recordCount": 2.0}]


def test_a_failing_sync_stops_fast_and_counts_what_landed(tmp_path):
    """Item 4 and issue 9's fail fast: without partial success, the first record Twenty refuses ends the sync
    at once: no later batch is sent, the failing batch is not split further, and the summary equals what is
    stored. The failure is a config_error (the data will not change on a retry) that says how to proceed."""
    rows = [{"id": n, "email": f"p{n}@fast.example", "first": f"P{n}"} for n in range(1, 601)]
    rows[40]["company"] = MISSING_COMPANY
    mapping = [*PEOPLE, {"column": "company", "field": "companyId"}]
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        config = config_for(
            emulator, "people", column_mapping=mapping, batch_size=60, max_concurrent_requests=1
        )
        messages = [record("users", row) for row in rows[:30]] + [state("users", 30, 1)]
        messages += [record("users", row) for row in rows[30:]] + [state("users", 600, 2)]
        run = run_connector(["write"], tmp_path, config, catalog_for("users"), messages)
        assert run.returncode == 1
        (error,) = run.errors
        assert error["failure_type"] == "config_error"
        assert error["message"].startswith("Record 41 of stream 'users' was rejected")
        assert "foreign key" in error["message"] and "turn partial success on" in error["message"]
        stored = emulator.records("people")
        summary = counts(run, "users")
        assert summary["created"] == len(stored) and summary["rejected"] == 1
        assert [s["id"] for s in run.states] == [1]
        assert run.states[0]["destinationStats"] == {"recordCount": 30.0}
        writes = [r for r in emulator.requests() if r["method"] == "POST" and r["path"].startswith("/rest/")]
        # The first batch (30 records) and the failing one with its splits; none of the 9 batches after it.
        assert len(writes) <= 1 + 1 + 2 * 6
        assert max(int(p["jobTitle"]) for p in stored) <= 90


def test_an_outage_past_the_budget_counts_what_landed(tmp_path):
    """Item 4 on the outage path: Twenty stops answering after two batches; the sync ends as a
    transient_error, and its summary says exactly what was stored."""
    rows = [{"id": n, "email": f"o{n}@out.example", "first": f"O{n}"} for n in range(1, 201)]
    faults = "503@" + ";".join(str(n) for n in range(3, 60))
    with run_emulator("--rate-limit", "off", "--faults", faults, api_key=API_KEY) as emulator:
        config = config_for(
            emulator,
            "people",
            column_mapping=PEOPLE,
            batch_size=50,
            max_concurrent_requests=1,
            max_retry_seconds=1,
        )
        messages = [record("users", row) for row in rows] + [state("users", 200, 1)]
        run = run_connector(["write"], tmp_path, config, catalog_for("users"), messages)
        assert run.returncode == 1
        (error,) = run.errors
        assert error["failure_type"] == "transient_error"
        stored = len(emulator.records("people"))
        assert 0 < stored < 200 and counts(run, "users")["created"] == stored
        assert run.states == []
