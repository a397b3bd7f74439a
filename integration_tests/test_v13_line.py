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
