"""The mapping tells the truth (issue 10, items 1, 2, 4, 5; issue 8, item 9), through the console script."""

from __future__ import annotations

from typing import Any

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state


def _catalog(name: str, properties: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    catalog = catalog_for(name, **extra)
    if properties is not None:
        catalog["streams"][0]["stream"]["json_schema"] = {"type": "object", "properties": properties}
    return catalog


def test_a_malformed_link_rejects_its_record_and_the_sync_goes_on(emulator, tmp_path):
    """Issue 8, item 9: `https://[::1` made urlsplit raise a bare ValueError that ended the sync."""
    mapping = [{"column": "name", "field": "name"}, {"column": "site", "field": "domainName.primaryLinkUrl"}]
    messages = [
        record("accounts", {"name": "Good", "site": "HTTPS://Good.Example/"}),
        record("accounts", {"name": "Broken", "site": "https://[::1"}),
        record("accounts", {"name": "Also good", "site": "https://also.example"}),
        state("accounts", 3, 7),
    ]
    config = config_for(emulator, "companies", partial_success=True, column_mapping=mapping)
    run = run_connector(["write"], tmp_path, config, catalog_for("accounts"), messages)
    assert run.returncode == 0, run.stdout[-2000:]
    (error,) = run.errors
    assert "Record 2 of stream 'accounts'" in error["message"]
    assert "domainName.primaryLinkUrl" in error["message"] and "https://[::1" in error["message"]
    stored = sorted((c["name"], c["domainName"]["primaryLinkUrl"]) for c in emulator.records("companies"))
    assert stored == [("Also good", "https://also.example"), ("Good", "https://good.example")]
    (echoed,) = run.states
    assert echoed["id"] == 7
    assert echoed["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}


def test_a_malformed_link_without_partial_success_ends_as_a_data_error_not_a_crash(emulator, tmp_path):
    messages = [
        record("accounts", {"name": "Before", "domainName": {"primaryLinkUrl": "https://before.example"}}),
        state("accounts", 1, 1),
        record("accounts", {"name": "Broken", "domainName": {"primaryLinkUrl": "http://[::1/x"}}),
        state("accounts", 2, 2),
    ]
    run = run_connector(
        ["write"], tmp_path, config_for(emulator, "companies"), catalog_for("accounts"), messages
    )
    assert run.returncode == 1
    (error,) = run.errors
    assert "Record 2 of stream 'accounts'" in error["message"] and "domainName" in error["message"]
    assert "Unexpected error" not in error["message"]
    assert [s["id"] for s in run.states] == [1]
    assert [c["name"] for c in emulator.records("companies")] == ["Before"]


FAKER_USERS = {
    "id": {"type": "integer"},
    "email": {"type": "string"},
    "telephone": {"type": ["null", "string"]},
    "address": {
        "type": ["null", "object"],
        "properties": {"city": {"type": "string"}, "state": {"type": "string"}, "country_code": {}},
    },
    "occupations": {"type": "array", "items": {"type": "string"}},
    "name.first": {"type": "string"},
}


def test_dotted_columns_read_nested_objects_and_array_items(emulator, tmp_path):
    """Issue 10, item 1: `address.city` used to pass check and write every city empty."""
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "address.city", "field": "city"},
        {"column": "occupations.0", "field": "jobTitle"},
        {"column": "name.first", "field": "name.firstName"},  # the literal dotted key wins
    ]
    messages = [
        record(
            "users",
            {
                "email": "ada@nested.example",
                "address": {"city": "London", "state": "LND"},
                "occupations": ["Mathematician", "Writer"],
                "name.first": "Ada",
                "name": {"first": "not this"},
            },
        ),
        record("users", {"email": "bob@nested.example", "address": None, "occupations": []}),
        state("users", 2),
    ]
    config = config_for(emulator, "people", column_mapping=mapping)
    run = run_connector(["write"], tmp_path, config, _catalog("users", FAKER_USERS), messages)
    assert run.returncode == 0, run.stdout[-2000:]
    assert not any("lists no properties" in line for line in run.logs)
    stored = {p["emails"]["primaryEmail"]: p for p in emulator.records("people")}
    assert (stored["ada@nested.example"]["city"], stored["ada@nested.example"]["jobTitle"]) == (
        "London",
        "Mathematician",
    )
    assert stored["ada@nested.example"]["name"]["firstName"] == "Ada"
    # In the schema but absent (or null) in the record: an empty value, as before.
    assert (stored["bob@nested.example"]["city"], stored["bob@nested.example"]["jobTitle"]) == ("", "")


def test_a_misspelled_column_ends_the_sync_before_any_write(emulator, tmp_path):
    """Issue 10, item 2: a column no stream has is a config_error naming column, stream and closest names."""
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "adress.city", "field": "city"},
    ]
    config = config_for(emulator, "people", column_mapping=mapping)
    messages = [record("users", {"email": "x@typo.example", "address": {"city": "Paris"}}), state("users", 1)]
    run = run_connector(["write"], tmp_path, config, _catalog("users", FAKER_USERS), messages)
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error"
    message = error["message"]
    assert '"adress.city"' in message and "stream 'users'" in message and "closest: address.city" in message
    assert run.states == []
    assert emulator.records("people") == []
    assert emulator.requests() == []  # refused before even reading the metadata


def test_a_stream_whose_schema_lists_no_properties_gets_a_warning(emulator, tmp_path):
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "adress.city", "field": "city"},
    ]
    config = config_for(emulator, "people", column_mapping=mapping)
    messages = [record("users", {"email": "w@warn.example"}), state("users", 1)]
    run = run_connector(["write"], tmp_path, config, _catalog("users", None), messages)
    assert run.returncode == 0, run.stdout[-2000:]
    warns = [m["log"]["message"] for m in run.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert any("Stream 'users' lists no properties" in w for w in warns), warns
    assert [p["emails"]["primaryEmail"] for p in emulator.records("people")] == ["w@warn.example"]


def test_dates_a_warehouse_sends_are_written_as_twenty_stores_them(emulator, tmp_path):
    """Issue 10, item 5: only ISO 8601 was accepted, and a year before 1000 went out with three digits."""
    sent = {
        "space": "2026-01-15 10:00:00",  # naive: UTC
        "zoned": "2026-01-15T10:00:00+02:00",
        "epoch_s": 1768471200,
        "epoch_ms": 1768471200000,
        "rfc2822": "Thu, 15 Jan 2026 10:00:00 GMT",
        "early": "0999-03-04T05:06:07Z",
    }
    mapping = [{"column": "title", "field": "title"}, {"column": "due", "field": "dueAt"}]
    messages = [record("todo", {"title": title, "due": due}) for title, due in sent.items()]
    messages += [record("todo", {"title": "bad", "due": "15/01/2026"}), state("todo", 1)]
    config = config_for(emulator, "tasks", column_mapping=mapping, partial_success=True)
    properties = {"title": {"type": "string"}, "due": {"type": ["string", "integer"]}}
    run = run_connector(["write"], tmp_path, config, _catalog("todo", properties, mode="append"), messages)
    assert run.returncode == 0, run.stdout[-2000:]
    stored = {t["title"]: t["dueAt"] for t in emulator.records("tasks")}
    assert stored == {
        "space": "2026-01-15T10:00:00.000Z",
        "zoned": "2026-01-15T08:00:00.000Z",
        "epoch_s": "2026-01-15T10:00:00.000Z",
        "epoch_ms": "2026-01-15T10:00:00.000Z",
        "rfc2822": "2026-01-15T10:00:00.000Z",
        "early": "0999-03-04T05:06:07.000Z",
    }
    (error,) = run.errors
    assert "Record 7 of stream 'todo'" in error["message"] and "dueAt" in error["message"]
    assert "'15/01/2026'" in error["message"]


def test_phone_numbers_are_parsed_with_the_default_country_and_land_as_twenty_stores_them(emulator, tmp_path):
    """Issue 10, item 4: about 90 % of faker's telephone values were refused ("Provided phone number is invalid")."""
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "telephone", "field": "phones"},
    ]
    sent = {
        "a@tel.example": "242.450.4284",
        "b@tel.example": "1-148-789-3272",
        "c@tel.example": "(212) 555-0199",
        "d@tel.example": "+33 6 12 34 56 78",
        "e@tel.example": "+1-(212)-555-0123",
    }
    messages = [record("users", {"email": email, "telephone": tel}) for email, tel in sent.items()]
    messages += [record("users", {"email": "bad@tel.example", "telephone": "call me"}), state("users", 1, 3)]
    config = config_for(
        emulator, "people", column_mapping=mapping, default_phone_country="us", partial_success=True
    )
    run = run_connector(["write"], tmp_path, config, _catalog("users", FAKER_USERS), messages)
    assert run.returncode == 0, run.stdout[-2000:]
    stored = {
        p["emails"]["primaryEmail"]: (
            p["phones"]["primaryPhoneNumber"],
            p["phones"]["primaryPhoneCountryCode"],
            p["phones"]["primaryPhoneCallingCode"],
        )
        for p in emulator.records("people")
    }
    assert stored == {
        "a@tel.example": ("2424504284", "BS", "+1"),
        "b@tel.example": ("487893272", "US", "+1"),
        "c@tel.example": ("2125550199", "US", "+1"),
        "d@tel.example": ("612345678", "FR", "+33"),
        "e@tel.example": ("2125550123", "US", "+1"),
    }
    (error,) = run.errors
    assert "Record 6 of stream 'users'" in error["message"]
    assert "phones.primaryPhoneNumber" in error["message"] and "'call me'" in error["message"]
    (echoed,) = run.states
    assert echoed["destinationStats"] == {"recordCount": 5.0, "rejectedRecordCount": 1.0}
    # Rejected before any request: no batch was refused by the server.
    assert all(r["status"] < 400 for r in emulator.requests())


def test_without_a_default_country_a_number_without_plus_is_rejected_saying_how_to_fix_it(emulator, tmp_path):
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "telephone", "field": "phones"},
    ]
    messages = [record("users", {"email": "n@tel.example", "telephone": "242.450.4284"}), state("users", 1)]
    config = config_for(emulator, "people", column_mapping=mapping)
    run = run_connector(["write"], tmp_path, config, _catalog("users", FAKER_USERS), messages)
    assert run.returncode == 1
    (error,) = run.errors
    assert "phones.primaryPhoneNumber" in error["message"] and "default_phone_country" in error["message"]
    assert emulator.records("people") == []


def test_a_bad_default_phone_country_is_a_config_error_in_check_and_write(emulator, tmp_path):
    config = config_for(emulator, "people", default_phone_country="XX")
    run = run_connector(["check"], tmp_path, config)
    assert run.status["status"] == "FAILED" and "default_phone_country" in run.status["message"]
    run = run_connector(["write"], tmp_path, config, catalog_for("users"), [record("users", {"city": "x"})])
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "default_phone_country" in error["message"]
