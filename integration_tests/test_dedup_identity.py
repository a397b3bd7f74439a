"""Append + Deduped keeps one Twenty record per primary key, even when the record's email changes (issue 10,
item 3). Twenty's upsert matches the id first, then each unique field, and updates the one record they agree on
(`categorize-records.util.ts`: the matched record's id replaces the one sent); two different matches are a 400."""

import requests

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state

MAPPING = [
    {"column": "id", "field": "jobTitle", "transforms": ["to_string"]},
    {"column": "email", "field": "emails.primaryEmail"},
]


def sync(emulator, tmp_path, rows, **config):
    messages = [record("users", row) for row in rows] + [state("users", len(rows), 1)]
    catalog = catalog_for("users", primary_key=[["id"]])
    settings = config_for(emulator, "people", column_mapping=MAPPING, partial_success=True, **config)
    return run_connector(["write"], tmp_path, settings, catalog, messages)


def stored(emulator):
    return {p["jobTitle"]: p for p in emulator.records("people")}


def test_a_changed_email_updates_the_same_person(emulator, tmp_path):
    first = sync(
        emulator, tmp_path, [{"id": 1, "email": "a@dedup.example"}, {"id": 2, "email": "b@dedup.example"}]
    )
    assert first.returncode == 0, first.stdout
    assert any("one Twenty record per primary key (id)" in line for line in first.logs)
    before = stored(emulator)
    again = sync(emulator, tmp_path, [{"id": 1, "email": "a.new@dedup.example"}])
    assert again.returncode == 0, again.stdout
    after = stored(emulator)
    assert len(after) == 2  # not a third person
    assert after["1"]["id"] == before["1"]["id"]
    assert after["1"]["emails"]["primaryEmail"] == "a.new@dedup.example"
    assert any("created 0, updated 1, rejected 0" in line for line in again.logs)


def test_an_email_that_belongs_to_another_person_is_rejected_naming_both(emulator, tmp_path):
    sync(emulator, tmp_path, [{"id": 1, "email": "a@dedup.example"}, {"id": 2, "email": "b@dedup.example"}])
    ids = {k: p["id"] for k, p in stored(emulator).items()}
    run = sync(emulator, tmp_path, [{"id": 1, "email": "b@dedup.example"}])
    assert run.returncode == 0, run.stdout
    (error,) = run.errors
    assert "Record 1 of stream 'users'" in error["message"]
    assert ids["1"] in error["message"] and "b@dedup.example" in error["message"]
    assert {k: p["emails"]["primaryEmail"] for k, p in stored(emulator).items()} == {
        "1": "a@dedup.example",
        "2": "b@dedup.example",
    }


def test_a_person_created_elsewhere_is_updated_by_email_with_a_warning(emulator, tmp_path):
    response = requests.post(
        f"{emulator.url}/rest/people",
        json={"emails": {"primaryEmail": "c@dedup.example"}, "jobTitle": "3"},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert response.status_code == 201
    run = sync(emulator, tmp_path, [{"id": 3, "email": "c@dedup.example"}])
    assert run.returncode == 0, run.stdout
    assert len(emulator.records("people")) == 1
    warnings = [m["log"]["message"] for m in run.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert any(
        "rather than by their primary key" in w and "map the key to a unique field" in w for w in warnings
    )
    assert any("created 0, updated 1, rejected 0" in line for line in run.logs)


def test_check_says_which_key_records_are_matched_on(emulator, tmp_path):
    run = run_connector(["check"], tmp_path, config_for(emulator, "people", column_mapping=MAPPING))
    assert run.status["status"] == "SUCCEEDED"
    (line,) = [line for line in run.logs if line.startswith("Matching:")]
    assert "one Twenty record per primary key (its key)" in line and "emails.primaryEmail" in line
