"""The v1.3 line as the real server of 2025-08-18 answers (issue 19, items 3 and 5b), played by the emulator's v1.3
mode: its GraphQL upsert lists at most 60 records in its answer, and its metadata limiter answers 400."""

import requests

from integration_tests.conftest import API_KEY, config_for, run_connector
from twenty_emulator.testing import run_emulator

MAPPING = [
    {"column": "id", "field": "jobTitle", "transforms": ["to_string"]},
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]


def catalog():
    return {
        "streams": [
            {
                "stream": {
                    "name": "users",
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh"],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append_dedup",
                "primary_key": [["id"]],
            }
        ]
    }


def messages(n, label="P"):
    rows = [
        {
            "type": "RECORD",
            "record": {
                "stream": "users",
                "data": {"id": i, "email": f"u{i}@v13.example", "first": f"{label}{i}"},
                "emitted_at": 1,
            },
        }
        for i in range(n)
    ]
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"n": n}}}
    return [*rows, {"type": "STATE", "state": state}]


def summary(run):
    (line,) = [line for line in run.logs if line.startswith("Sync summary")]
    return line


def stats(run):
    (last,) = run.states[-1:]
    return last["destinationStats"]["recordCount"]


def test_graphql_upserts_of_more_records_than_its_answer_lists_are_counted_exactly(tmp_path):
    with run_emulator("--rate-limit", "off", api_key=API_KEY, twenty_version="v1.3") as emulator:
        config = config_for(emulator, "people", column_mapping=MAPPING)
        # One person exists already, so the first batch meets a duplicate and the sync goes through GraphQL.
        response = requests.post(
            f"{emulator.url}/rest/people",
            json={"emails": {"primaryEmail": "u0@v13.example"}},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        first = run_connector(["write"], tmp_path, config, catalog(), messages(450))
        assert first.returncode == 0, first.stdout
        assert any("go through its GraphQL" in line for line in first.logs)
        assert "created 449, updated 1, rejected 0" in summary(first)
        assert len(emulator.records("people")) == 450
        again = run_connector(["write"], tmp_path, config, catalog(), messages(450, "Q"))
        assert again.returncode == 0, again.stdout
        assert "created 0, updated 450, rejected 0" in summary(again)
        assert stats(again) == 450
        people = emulator.records("people")
        assert len(people) == 450 and all(p["name"]["firstName"].startswith("Q") for p in people)


def spend_the_metadata_limit(emulator, calls):
    """Call GET /rest/metadata/objects until the limiter refuses; return its refusal."""
    for _ in range(calls):
        response = requests.get(
            f"{emulator.url}/rest/metadata/objects",
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        )
        if response.status_code != 200:
            return response
    raise AssertionError("the limiter never refused")


def test_the_metadata_limiter_s_400_is_a_rate_limit_check_discover_and_write_wait_out(tmp_path):
    # 3 calls per 2 s (the real limit is 100 per 100 s): refused calls count, as graphql-rate-limit counts them.
    with run_emulator(
        "--rate-limit", "off", "--field-limit", "3/2", api_key=API_KEY, twenty_version="v1.3"
    ) as emulator:
        config = config_for(emulator, "people", column_mapping=MAPPING, check_retry_seconds=15)
        refusal = spend_the_metadata_limit(emulator, 10)
        assert refusal.status_code == 400
        assert refusal.json() == {
            "statusCode": 400,
            "messages": ["Too many requests."],
            "error": "Bad Request",
        }
        checked = run_connector(["check"], tmp_path, config)
        assert checked.status["status"] == "SUCCEEDED", checked.status

        spend_the_metadata_limit(emulator, 10)
        discovered = run_connector(["discover"], tmp_path, config)
        assert discovered.returncode == 0, discovered.stdout
        assert discovered.of_type("DESTINATION_CATALOG")

        spend_the_metadata_limit(emulator, 10)
        written = run_connector(["write"], tmp_path, config, catalog(), messages(5))
        assert written.returncode == 0, written.stdout
        assert "created 5, updated 0, rejected 0" in summary(written)
        assert len(emulator.records("people")) == 5


def test_graphql_s_too_many_requests_is_a_rate_limit_the_upsert_waits_out(tmp_path):
    with run_emulator(
        "--rate-limit", "off", "--field-limit", "2/2", api_key=API_KEY, twenty_version="v1.3"
    ) as emulator:
        config = config_for(emulator, "people", column_mapping=MAPPING)
        requests.post(
            f"{emulator.url}/rest/people",
            json={"emails": {"primaryEmail": "u0@v13.example"}},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        ).raise_for_status()
        # The probe and four 60-record batches go through GraphQL, at most 2 per 2 s.
        run = run_connector(["write"], tmp_path, config, catalog(), messages(240))
        assert run.returncode == 0, run.stdout
        assert "created 239, updated 1, rejected 0" in summary(run)
        assert len(emulator.records("people")) == 240
