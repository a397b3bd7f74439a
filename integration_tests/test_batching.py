"""Issue 4's correctness half: batch splitting, shrinking on the server's maximum, pacing and backoff on 429,
states in order under pipelining. (Speed is measured by bench/, never asserted here.)"""

import json
import subprocess
import threading
from datetime import datetime

from integration_tests.conftest import (
    API_KEY,
    CONNECTOR,
    catalog_for,
    config_for,
    record,
    run_connector,
    state,
)
from twenty_emulator.testing import run_emulator

MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]


def people(count, start=0, tag="P"):
    return [
        {"email": f"{tag.lower()}{i}@batch.example", "first": f"{tag}{i}"}
        for i in range(start, start + count)
    ]


def batch_posts(emulator):
    return [r for r in emulator.requests() if r["method"] == "POST" and r["path"].startswith("/rest/batch/")]


def test_a_repeated_key_splits_the_batch_and_the_later_record_wins(emulator, tmp_path):
    rows = [
        {"email": "dup@batch.example", "first": "First"},
        {"email": "other@batch.example", "first": "Other"},
        {"email": "DUP@Batch.example", "first": "Second"},  # same key once lower-cased, as Twenty compares
        {"email": "third@batch.example", "first": "Third"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=MAPPING),
        catalog_for("people"),
        [record("people", r) for r in rows] + [state("people", 4)],
    )
    assert run.returncode == 0, run.stdout
    stored = {p["emails"]["primaryEmail"]: p["name"]["firstName"] for p in emulator.records("people")}
    assert stored == {
        "dup@batch.example": "Second",
        "other@batch.example": "Other",
        "third@batch.example": "Third",
    }
    sizes = [r["records"] for r in batch_posts(emulator)]
    assert sizes == [2, 2] and all(r["status"] == 201 for r in batch_posts(emulator))


def test_the_batch_shrinks_to_the_servers_maximum_and_stays_small(tmp_path):
    with run_emulator("--rate-limit", "off", "--max-batch", "25", api_key=API_KEY) as emulator:
        rows = people(300)
        run = run_connector(
            ["write"],
            tmp_path,
            config_for(emulator, "people", column_mapping=MAPPING, batch_size=60),
            catalog_for("people"),
            [record("people", r) for r in rows] + [state("people", 300)],
        )
        assert run.returncode == 0, run.stdout
        assert len(emulator.records("people")) == 300
        posts = batch_posts(emulator)
    refused = [r for r in posts if r["status"] == 400]
    assert 1 <= len(refused) <= 4  # the batches already in flight when the first answer came back
    accepted = [r["records"] for r in posts if r["status"] == 201]
    assert sum(accepted) == 300 and max(accepted) <= 25
    assert any("at most 25 records per call" in line for line in run.logs)


def test_rate_limited_server_backs_off_and_loses_nothing(tmp_path):
    # The client is told to go far faster than the server allows: every 429 must be retried, nothing lost.
    with run_emulator("--rate-limit", "5/1", api_key=API_KEY) as emulator:
        rows = people(400)
        run = run_connector(
            ["write"],
            tmp_path,
            config_for(emulator, "people", column_mapping=MAPPING, batch_size=20, requests_per_minute=3000),
            catalog_for("people"),
            [record("people", r) for r in rows] + [state("people", 400, 1)],
        )
        assert run.returncode == 0, run.stdout
        assert len(emulator.records("people")) == 400
        statuses = [r["status"] for r in batch_posts(emulator)]
    assert 429 in statuses
    assert statuses.count(201) == 20
    assert run.states[-1]["destinationStats"]["recordCount"] == 400


def test_retry_after_is_honoured(tmp_path):
    # One request at a time, so the gap after each 429 is the client's own wait.
    with run_emulator("--rate-limit", "3/1", "--retry-after", api_key=API_KEY) as emulator:
        rows = people(120)
        run = run_connector(
            ["write"],
            tmp_path,
            config_for(
                emulator,
                "people",
                column_mapping=MAPPING,
                batch_size=10,
                requests_per_minute=6000,
                max_concurrent_requests=1,
            ),
            catalog_for("people"),
            [record("people", r) for r in rows] + [state("people", 120)],
        )
        assert run.returncode == 0, run.stdout
        assert len(emulator.records("people")) == 120
        log = [r for r in emulator.requests() if r["path"].startswith("/rest/batch/")]
    times = [datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in log]
    gaps_after_429 = [
        (times[i + 1] - times[i]).total_seconds() for i, r in enumerate(log[:-1]) if r["status"] == 429
    ]
    assert gaps_after_429, "the test needs the server to refuse some calls"
    # The server said Retry-After: 1; our own first backoff would have been 0.25–0.5 s.
    assert min(gaps_after_429) >= 0.95, gaps_after_429


def test_states_come_out_in_order_and_only_after_their_records_are_stored(tmp_path):
    # Random latency on a third of the requests makes batches finish out of order with 4 in flight.
    faults = "latency=150:0.3"
    with run_emulator(
        "--rate-limit", "off", "--faults", faults, "--fault-seed", "3", api_key=API_KEY
    ) as emulator:
        rows = people(1200)
        messages = []
        for i, row in enumerate(rows):
            messages.append(record("people", row))
            if (i + 1) % 100 == 0:
                messages.append(state("people", i + 1, i + 1))
        config = config_for(
            emulator, "people", column_mapping=MAPPING, batch_size=30, max_concurrent_requests=4
        )
        (tmp_path / "config.json").write_text(json.dumps(config))
        (tmp_path / "catalog.json").write_text(json.dumps(catalog_for("people")))
        proc = subprocess.Popen(
            [
                str(CONNECTOR),
                "write",
                "--config",
                str(tmp_path / "config.json"),
                "--catalog",
                str(tmp_path / "catalog.json"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        feeder = threading.Thread(
            target=lambda: (
                proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages)),
                proc.stdin.close(),
            )
        )
        feeder.start()
        seen = []
        for line in proc.stdout:
            message = json.loads(line)
            if message["type"] != "STATE":
                continue
            covered = message["state"]["id"]
            # The moment a state is echoed, every record before it must already be stored.
            stored = {p["emails"]["primaryEmail"] for p in emulator.records("people")}
            missing = [r["email"] for r in rows[:covered] if r["email"] not in stored]
            assert not missing, f"state {covered} was echoed before {len(missing)} of its records were stored"
            seen.append((covered, message["state"]["destinationStats"]["recordCount"]))
        assert proc.wait(timeout=120) == 0
        feeder.join()
    assert seen == [(n, 100.0) for n in range(100, 1201, 100)]


def test_large_records_are_batched_under_the_body_limit(tmp_path):
    # 12 records of ~1 MB each: one 60-record batch would be a 12 MB body, which Twenty refuses (413).
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        rows = [{"email": f"big{i}@batch.example", "title": f"{i}" + "x" * 1_000_000} for i in range(12)]
        rows.append({"email": "huge@batch.example", "title": "y" * 11_000_000})  # alone over the limit
        mapping = [*MAPPING, {"column": "title", "field": "jobTitle"}]
        run = run_connector(
            ["write"],
            tmp_path,
            config_for(emulator, "people", column_mapping=mapping, partial_success=True),
            catalog_for("people"),
            [record("people", r) for r in rows] + [state("people", 13)],
        )
        assert run.returncode == 0, run.stdout[-2000:]
        stored = {p["emails"]["primaryEmail"]: len(p["jobTitle"]) for p in emulator.records("people")}
        statuses = [r["status"] for r in batch_posts(emulator)]
    assert stored == {f"big{i}@batch.example": 1_000_001 for i in range(10)} | {
        f"big{i}@batch.example": 1_000_002 for i in range(10, 12)
    }
    assert 413 not in statuses and len(statuses) >= 2
    (error,) = run.errors
    assert "Record 13" in error["message"] and "10 MB" in error["message"]
