"""Calls are the cost under Twenty's rate limit (issue 9): 200 records a call, and reads that a cache answers."""

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state


def data_calls(emulator, method):
    return [
        r
        for r in emulator.requests()
        if r["method"] == method
        and r["path"].startswith("/rest/")
        and not r["path"].startswith("/rest/metadata")
    ]


def test_four_hundred_people_take_two_write_calls_by_default(emulator, tmp_path):
    rows = [{"emails.primaryEmail": f"p{n}@calls.example"} for n in range(400)]
    messages = [record("people", row) for row in rows] + [state("people", 400, 1)]
    run = run_connector(["write"], tmp_path, config_for(emulator, "people"), catalog_for("people"), messages)
    assert run.returncode == 0, run.stdout
    assert len(emulator.records("people")) == 400
    assert [r["records"] for r in data_calls(emulator, "POST")] == [200, 200]


def test_an_id_updated_twice_in_a_sync_is_read_once(emulator, tmp_path):
    seed = [record("people", {"emails.primaryEmail": f"u{n}@calls.example"}) for n in range(3)]
    assert (
        run_connector(
            ["write"], tmp_path, config_for(emulator, "people"), catalog_for("people"), seed
        ).returncode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.records("people"))
    before = len(data_calls(emulator, "GET"))
    messages = [record("people", {"id": i, "city": "Lima"}) for i in ids] + [state("people", 1, 1)]
    messages += [record("people", {"id": i, "city": "Quito"}) for i in ids] + [state("people", 2, 2)]
    run = run_connector(["write"], tmp_path, config_for(emulator, "people"), catalog_for("people"), messages)
    assert run.returncode == 0, run.stdout
    assert len(data_calls(emulator, "GET")) - before == 1  # the second batch's ids are known to exist
    assert {p["city"] for p in emulator.records("people")} == {"Quito"}
