"""Bad configs, catalogs and records: each gets a clear message, never a traceback, and nothing written is lost."""

import json

import pytest

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state


@pytest.mark.parametrize(
    "change, named",
    [
        ({"mode": "leads"}, "mode"),
        ({"mode": 3}, "mode"),
        ({"batch_size": "sixty"}, "batch_size"),
        ({"batch_size": 500}, "batch_size"),
        ({"upsert": "true"}, "upsert"),
        ({"api_url": "not a url"}, "api_url"),
        ({"api_url": "ftp://127.0.0.1"}, "api_url"),
        ({"mode": "custom", "custom_object": "../people"}, "custom_object"),
        ({"mode": "custom", "custom_object": "pets/1?x=1"}, "custom_object"),
        ({"mode": "custom"}, "custom_object"),
        ({"column_mapping": [{"column": "a"}]}, "column_mapping[0].field"),
        ({"column_mapping": [{"column": "a", "field": "city", "transforms": ["shout"]}]}, "shout"),
        ({"api_key": ""}, "api_key"),
        # issue 8, items 11-13: one validation for check and write, full-match patterns, no URL credentials
        ({"requests_per_minute": 10**30}, "requests_per_minute"),
        ({"mode": "custom", "custom_object": "people\n"}, "custom_object"),
        ({"api_url": "http://user:pass@127.0.0.1:9"}, "api_url"),
    ],
)
def test_bad_configs_fail_write_with_a_config_error_naming_the_key(emulator, tmp_path, change, named):
    config = {**config_for(emulator, "people"), **change}
    run = run_connector(
        ["write"],
        tmp_path,
        config,
        catalog_for("people"),
        [record("people", {"city": "x"}), state("people", 1)],
    )
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error"
    assert named in error["message"]
    assert emulator.records("people") == []


@pytest.mark.parametrize(
    "change, named",
    [
        ({"mode": "leads"}, "mode"),
        ({"api_url": "nope"}, "api_url"),
        ({"mode": "custom", "custom_object": "a/b"}, "custom_object"),
        ({"requests_per_minute": 10**30}, "requests_per_minute"),
        ({"mode": "custom", "custom_object": "people\n"}, "custom_object"),
        ({"api_url": "http://user:pass@127.0.0.1:9"}, "api_url"),
    ],
)
def test_bad_configs_fail_check_naming_the_key(emulator, tmp_path, change, named):
    run = run_connector(["check"], tmp_path, {**config_for(emulator, "people"), **change})
    assert run.status["status"] == "FAILED" and named in run.status["message"]


def test_a_catalog_with_no_streams_is_a_config_error(emulator, tmp_path):
    run = run_connector(["write"], tmp_path, config_for(emulator, "people"), {"streams": []}, [])
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "no streams" in error["message"]


def test_a_config_file_that_is_not_json(emulator, tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_for("people")))
    run = run_connector(
        ["write", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")],
        tmp_path,
    )
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "JSON" in error["message"]


BAD_RECORDS = [
    ({"emails.primaryEmail": "ok1@bad.example", "jobTitle": "Fine"}, None),
    ({"emails.primaryEmail": "types@bad.example", "jobTitle": {"not": "text"}}, "jobTitle"),
    (
        {"emails.primaryEmail": "huge@bad.example", "jobTitle": "x" * 1_000_000},
        None,
    ),  # 1 MB of text is valid TEXT
    ({"emails.primaryEmail": "deep@bad.example", "city": json.loads("[" * 200 + "]" * 200)}, "city"),
    (
        {"emails.primaryEmail": "unicode@bad.example", "name.firstName": "Zoë 🚀 李", "city": "Zürich\u200b"},
        None,
    ),
    (
        {"emails.primaryEmail": None, "jobTitle": None, "city": None, "name.firstName": None},
        "every mapped value is empty",
    ),
    ([1, 2, 3], "not a JSON object"),
    ("a string", "not a JSON object"),
    (None, "not a JSON object"),
    ({"emails.primaryEmail": "lacks@bad.example", "company_size": 5}, "company_size"),
    (
        {"emails.primaryEmail": "ok2@bad.example", "employees": 3},
        "employees",
    ),  # People have no employees field
    ({"emails.primaryEmail": "ok3@bad.example", "jobTitle": "Also fine"}, None),
]


def test_bad_records_are_each_rejected_with_a_reason_and_the_rest_lands(emulator, tmp_path):
    messages = [record("people", data) for data, _ in BAD_RECORDS] + [state("people", len(BAD_RECORDS), 9)]
    messages.insert(3, "this line is not JSON")
    config = config_for(emulator, "people", partial_success=True)
    run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert run.returncode == 0, run.stdout[-2000:]
    rejected = {int(e["message"].split()[1]): e["message"] for e in run.errors}
    expected_rejections = {i + 1: why for i, (_, why) in enumerate(BAD_RECORDS) if why}
    assert set(rejected) == set(expected_rejections)
    for position, why in expected_rejections.items():
        assert why in rejected[position], rejected[position]
    stored = {p["emails"]["primaryEmail"]: p for p in emulator.records("people")}
    assert set(stored) == {"ok1@bad.example", "huge@bad.example", "unicode@bad.example", "ok3@bad.example"}
    assert len(stored["huge@bad.example"]["jobTitle"]) == 1_000_000
    assert stored["unicode@bad.example"]["name"]["firstName"] == "Zoë 🚀 李"
    assert stored["unicode@bad.example"]["city"] == "Zürich\u200b"
    (echoed,) = run.states
    assert echoed["id"] == 9
    assert echoed["destinationStats"] == {"recordCount": 4.0, "rejectedRecordCount": 8.0}
    assert any("not JSON" in line for line in run.logs)


def test_without_partial_success_a_bad_record_stops_but_keeps_what_came_before(emulator, tmp_path):
    messages = [
        record("people", {"emails.primaryEmail": "before@bad.example"}),
        state("people", 1, 1),
        record("people", {"emails.primaryEmail": "bad@bad.example", "jobTitle": ["a", "list"]}),
        record("people", {"emails.primaryEmail": "after@bad.example"}),
        state("people", 3, 2),
    ]
    run = run_connector(["write"], tmp_path, config_for(emulator, "people"), catalog_for("people"), messages)
    assert run.returncode == 1
    (error,) = run.errors
    assert "Record 2 of stream 'people'" in error["message"] and "jobTitle" in error["message"]
    assert [s["id"] for s in run.states] == [1]
    assert [p["emails"]["primaryEmail"] for p in emulator.records("people")] == ["before@bad.example"]


def test_every_failure_path_keeps_the_key_secret(emulator, tmp_path):
    # run_connector asserts the key is absent from stdout and stderr on every call; here, the odd paths.
    for config in (
        config_for(emulator, "people", api_key=API_KEY + "-wrong"),
        {**config_for(emulator, "people"), "api_url": "http://127.0.0.1:9"},
        {**config_for(emulator, "people"), "batch_size": API_KEY},
    ):
        run_connector(["check"], tmp_path, {**config, "check_retry_seconds": 1})
        run_connector(
            ["write"],
            tmp_path,
            {**config, "max_retry_seconds": 1},
            catalog_for("people"),
            [record("people", {"emails.primaryEmail": "s@bad.example"})],
        )


def test_a_huge_bad_value_is_rejected_with_a_short_reason(emulator, tmp_path):
    """Issue 8, item 15: a 100,000-character bad value must not become a 100,000-character reason."""
    config = config_for(emulator, "companies", partial_success=True)
    messages = [
        record("accounts", {"name": "Huge", "employees": "x" * 100_000}),
        record("accounts", {"name": "Fine", "employees": 3}),
        state("accounts", 1),
    ]
    run = run_connector(["write"], tmp_path, config, catalog_for("accounts"), messages)
    assert run.returncode == 0
    (error,) = run.errors
    assert "employees" in error["message"] and len(error["message"]) < 400
    assert [c["name"] for c in emulator.records("companies")] == ["Fine"]
    (last,) = run.states
    assert last["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 1.0}


def test_a_record_for_a_stream_not_in_the_catalog_is_a_config_error(emulator, tmp_path):
    """Issue 8, item 10: never write a stream the catalog does not configure; what came before stays counted."""
    messages = [
        record("people", {"emails.primaryEmail": "before@example.com"}),
        state("people", 1),
        record("ghosts", {"emails.primaryEmail": "ghost@example.com"}),
        state("ghosts", 1),
    ]
    run = run_connector(["write"], tmp_path, config_for(emulator, "people"), catalog_for("people"), messages)
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "'ghosts'" in error["message"]
    assert [p["emails"]["primaryEmail"] for p in emulator.records("people")] == ["before@example.com"]
    assert [s["destinationStats"] for s in run.states] == [{"recordCount": 1.0}]
