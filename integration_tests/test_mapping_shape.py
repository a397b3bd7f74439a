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
