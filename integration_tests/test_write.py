"""write, end to end: the console script reads Airbyte messages, the emulator stores, the test reads back."""

import requests

from integration_tests.conftest import catalog_for, config_for, live, record, run_connector, state

COMPANY_MAPPING = [
    {"column": "domain", "field": "domainName.primaryLinkUrl", "transforms": ["trim", "lowercase"]},
    {"column": "name", "field": "name"},
    {"column": "company_size", "field": "employees"},
    {"column": "revenue", "field": "annualRecurringRevenue.amountMicros"},
    {"column": "icp", "field": "idealCustomerProfile", "transforms": ["yesno_to_bool"]},
]
COMPANY_ROWS = [
    {
        "domain": " https://Ada.example ",
        "name": "Ada Labs",
        "company_size": 50,
        "revenue": 1250000.00,
        "icp": "Yes",
    },
    {
        "domain": "https://alan.example",
        "name": "Alan Works",
        "company_size": 12,
        "revenue": "300000.00",
        "icp": "no",
    },
    {
        "domain": "https://grace.example",
        "name": "Grace Co",
        "company_size": None,
        "revenue": 49.99,
        "icp": "Y",
    },
]


def company_sync(emulator, tmp_path, rows=COMPANY_ROWS, **config):
    messages = [record("companies", row) for row in rows] + [state("companies", len(rows), state_id=7)]
    return run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "companies", column_mapping=COMPANY_MAPPING, **config),
        catalog_for("companies"),
        messages,
    )


def test_seed_example_on_companies_lands_with_exact_micros(emulator, tmp_path):
    run = company_sync(emulator, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    stored = {c["domainName"]["primaryLinkUrl"]: c for c in live(emulator.records("companies"))}
    assert set(stored) == {"https://ada.example", "https://alan.example", "https://grace.example"}
    ada = stored["https://ada.example"]
    assert ada["name"] == "Ada Labs"
    assert ada["employees"] == 50
    assert ada["annualRecurringRevenue"]["amountMicros"] == 1250000000000
    assert ada["idealCustomerProfile"] is True
    assert stored["https://alan.example"]["annualRecurringRevenue"]["amountMicros"] == 300000000000
    assert stored["https://alan.example"]["idealCustomerProfile"] is False
    grace = stored["https://grace.example"]
    assert grace["annualRecurringRevenue"]["amountMicros"] == 49990000
    assert grace["employees"] is None  # an empty value is not sent
    (echoed,) = run.states
    assert echoed["id"] == 7  # the platform's state id survives the echo
    assert echoed["destinationStats"]["recordCount"] == 3
    assert "stream 'companies': created 3, updated 0, rejected 0" in run.logs[-1]  # the last LOG line


def test_second_sync_of_the_same_data_updates_instead_of_duplicating(emulator, tmp_path):
    assert company_sync(emulator, tmp_path).returncode == 0
    first = {c["id"] for c in live(emulator.records("companies"))}
    changed = [dict(COMPANY_ROWS[0], company_size=51)] + COMPANY_ROWS[1:]
    run = company_sync(emulator, tmp_path, rows=changed)
    assert run.returncode == 0, run.stdout
    stored = live(emulator.records("companies"))
    assert {c["id"] for c in stored} == first
    assert [c["employees"] for c in stored if c["name"] == "Ada Labs"] == [51]
    assert any("created 0, updated 3, rejected 0" in line for line in run.logs)


def test_empty_values_keep_what_twenty_already_has(emulator, tmp_path):
    assert company_sync(emulator, tmp_path).returncode == 0
    blank = [
        {"domain": "https://ada.example", "name": "", "company_size": None, "revenue": None, "icp": None}
    ]
    assert company_sync(emulator, tmp_path, rows=blank).returncode == 0
    (ada,) = [
        c for c in emulator.records("companies") if c["domainName"]["primaryLinkUrl"] == "https://ada.example"
    ]
    assert ada["name"] == "Ada Labs" and ada["employees"] == 50
    assert ada["annualRecurringRevenue"]["amountMicros"] == 1250000000000


def test_update_by_id_changes_existing_records_and_rejects_unknown_ids(emulator, tmp_path):
    assert company_sync(emulator, tmp_path).returncode == 0
    stored = {c["name"]: c["id"] for c in live(emulator.records("companies"))}
    mapping = [{"column": "twenty_id", "field": "id"}, {"column": "size", "field": "employees"}]
    missing = "00000000-0000-4000-8000-000000000404"
    before = len(emulator.requests())
    rows = [
        {"twenty_id": stored["Ada Labs"], "size": 70},
        {"twenty_id": missing, "size": 1},
        {"twenty_id": stored["Alan Works"], "size": 13},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "companies", column_mapping=mapping, partial_success=True),
        catalog_for("companies"),
        [record("companies", r) for r in rows] + [state("companies", 1)],
    )
    assert run.returncode == 0, run.stdout
    after = {c["name"]: c for c in live(emulator.records("companies"))}
    assert len(after) == 3  # nothing created
    assert after["Ada Labs"]["employees"] == 70 and after["Alan Works"]["employees"] == 13
    assert after["Ada Labs"]["domainName"]["primaryLinkUrl"] == "https://ada.example"
    (error,) = run.errors
    assert "Record 2 of stream 'companies'" in error["message"] and missing in error["message"]
    assert run.states[-1]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}
    # one existence read and one batch write, never one PATCH per record
    calls = [(r["method"], r["path"]) for r in emulator.requests()[before:] if r["path"].startswith("/rest/")]
    assert [c for c in calls if "metadata" not in c[1]] == [
        ("GET", "/rest/companies"),
        ("POST", "/rest/batch/companies"),
    ]


def people_messages(rows):
    return [record("people", row) for row in rows] + [state("people", len(rows))]


PEOPLE_MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
    {"column": "city", "field": "city"},
    {"column": "company", "field": "companyId"},
]


def test_partial_success_off_stops_at_the_first_rejected_record(emulator, tmp_path):
    rows = [
        {"email": "a@x.example", "first": "A"},
        {"email": "b@x.example", "first": "B", "company": "not-a-uuid"},
        {"email": "c@x.example", "first": "C"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=PEOPLE_MAPPING),
        catalog_for("people"),
        [
            record("people", rows[0]),
            state("people", 1, 1),
            record("people", rows[1]),
            record("people", rows[2]),
        ]
        + [state("people", 3, 2)],
    )
    assert run.returncode != 0
    (error,) = run.errors
    assert "Record 2 of stream 'people'" in error["message"]
    assert "companyId" in error["message"] and "not-a-uuid" in error["message"]
    assert error["stream_descriptor"] == {"name": "people"}
    assert [s["id"] for s in run.states] == [1]  # the state after the bad record is not echoed
    emails = {p["emails"]["primaryEmail"] for p in emulator.records("people")}
    assert "a@x.example" in emails and "b@x.example" not in emails


def test_partial_success_on_reports_each_rejection_and_lands_the_rest(emulator, tmp_path):
    rows = [
        {"email": "a@x.example", "first": "A"},
        {"email": "b@x.example", "first": "B", "company": "00000000-0000-4000-8000-00000000c0de"},
        {"email": "c@x.example", "first": "C"},
        {"email": "d@x.example", "first": "D", "company": "nope"},
        {"email": "e@x.example", "first": "E"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=PEOPLE_MAPPING, partial_success=True),
        catalog_for("people"),
        people_messages(rows),
    )
    assert run.returncode == 0, run.stdout
    # Record 4 is refused before sending (not a UUID); record 2 by Twenty (a relation to no record), later.
    by_record = {e["message"].split(" was rejected")[0]: e["message"] for e in run.errors}
    assert set(by_record) == {"Record 2 of stream 'people'", "Record 4 of stream 'people'"}
    assert "companyId" in by_record["Record 4 of stream 'people'"]
    assert "foreign key" in by_record["Record 2 of stream 'people'"]
    emails = sorted(p["emails"]["primaryEmail"] for p in emulator.records("people"))
    assert emails == ["a@x.example", "c@x.example", "e@x.example"]
    assert run.states[-1]["destinationStats"] == {"recordCount": 3.0, "rejectedRecordCount": 2.0}


def test_states_interleaved_across_two_streams_count_per_stream(emulator, tmp_path):
    messages = [
        record("crm_a", {"email": "a1@x.example"}),
        record("crm_b", {"email": "b1@x.example"}),
        record("crm_a", {"email": "a2@x.example"}),
        state("crm_a", 2, 101),
        record("crm_b", {"email": "b2@x.example"}),
        record("crm_b", {"email": "b3@x.example"}),
        state("crm_b", 3, 102),
        record("crm_a", {"email": "a3@x.example"}),
        state("crm_a", 3, 103),
        state("crm_b", 3, 104),
    ]
    mapping = [{"column": "email", "field": "emails.primaryEmail"}]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping, batch_size=2),
        catalog_for("crm_a", "crm_b"),
        messages,
    )
    assert run.returncode == 0, run.stdout
    summary = [
        (s["id"], s["stream"]["stream_descriptor"]["name"], s["destinationStats"]["recordCount"])
        for s in run.states
    ]
    assert summary == [(101, "crm_a", 2.0), (102, "crm_b", 3.0), (103, "crm_a", 1.0), (104, "crm_b", 0.0)]
    assert len(emulator.records("people")) == 6
    # every state came out after the records before it were stored
    stdout_types = [m["type"] for m in run.messages]
    assert stdout_types.count("STATE") == 4


def test_every_standard_mode_writes_its_object(emulator, tmp_path):
    cases = {
        "people": (
            {"name.firstName": "Ada", "emails.primaryEmail": "ADA@Example.org", "jobTitle": "Countess"},
            "people",
        ),
        "companies": (
            {"name": "Acme", "domainName.primaryLinkUrl": "https://acme.example", "employees": "12"},
            "companies",
        ),
        "opportunities": (
            {
                "name": "Deal",
                "amount.amountMicros": "49.99",
                "amount.currencyCode": "usd",
                "stage": "meeting",
            },
            "opportunities",
        ),
        "notes": ({"title": "Call", "bodyV2": "Discussed **pricing**"}, "notes"),
        "tasks": ({"title": "Follow up", "status": "in_progress", "dueAt": "2026-01-15"}, "tasks"),
    }
    for mode, (data, plural) in cases.items():
        run = run_connector(
            ["write"],
            tmp_path,
            config_for(emulator, mode),
            catalog_for(mode),
            [record(mode, data), state(mode, 1)],
        )
        assert run.returncode == 0, (mode, run.stdout)
        (stored,) = emulator.records(plural)
        if mode == "people":
            assert (
                stored["emails"]["primaryEmail"] == "ada@example.org" and stored["name"]["firstName"] == "Ada"
            )
        if mode == "companies":
            assert stored["employees"] == 12  # a numeric string becomes a NUMBER
        if mode == "opportunities":
            assert stored["amount"] == {"amountMicros": 49990000, "currencyCode": "USD"}
            assert stored["stage"] == "MEETING"  # select values matched case-insensitively
        if mode == "notes":
            assert stored["bodyV2"]["markdown"] == "Discussed **pricing**"
        if mode == "tasks":
            assert stored["status"] == "IN_PROGRESS"
            assert stored["dueAt"].startswith("2026-01-15T00:00:00")


def test_custom_object_mode(emulator, tmp_path):
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    created = requests.post(
        f"{emulator.url}/rest/metadata/objects",
        json={
            "nameSingular": "spaceship",
            "namePlural": "spaceships",
            "labelSingular": "Spaceship",
            "labelPlural": "Spaceships",
        },
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    object_id = created.json()["data"]["createOneObject"]["id"]
    for name, kind in (("crew", "NUMBER"), ("flagship", "BOOLEAN")):
        response = requests.post(
            f"{emulator.url}/rest/metadata/fields",
            json={"objectMetadataId": object_id, "name": name, "label": name.title(), "type": kind},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
    rows = [
        {"name": "Enterprise", "crew": "430", "flagship": "yes"},
        {"name": "Defiant", "crew": 50, "flagship": False},
    ]
    mapping = [
        {"column": "name", "field": "name"},
        {"column": "crew", "field": "crew"},
        {"column": "flagship", "field": "flagship", "transforms": ["yesno_to_bool"]},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "custom", custom_object="spaceships", column_mapping=mapping),
        catalog_for("ships", primary_key=[["name"]]),
        [record("ships", r) for r in rows] + [state("ships", 2)],
    )
    assert run.returncode == 0, run.stdout
    stored = sorted((s["name"], s["crew"], s["flagship"]) for s in emulator.records("spaceships"))
    assert stored == [("Defiant", 50, False), ("Enterprise", 430, True)]
    # Custom objects have no unique field: ids derived from the primary key make a re-run update, not duplicate.
    again = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "custom", custom_object="spaceships", column_mapping=mapping),
        catalog_for("ships", primary_key=[["name"]]),
        [record("ships", r) for r in rows] + [state("ships", 2)],
    )
    assert again.returncode == 0
    assert len(emulator.records("spaceships")) == 2


def test_overwrite_is_refused_before_writing(emulator, tmp_path):
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people"),
        catalog_for("people", mode="overwrite"),
        people_messages([{"emails.primaryEmail": "x@x.example"}]),
    )
    assert run.returncode != 0
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "overwrite" in error["message"]
    assert emulator.records("people") == []


def test_a_mapping_to_a_missing_field_fails_at_the_start(emulator, tmp_path):
    mapping = [{"column": "size", "field": "employees"}]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping),
        catalog_for("people"),
        people_messages([{"size": 3}]),
    )
    assert run.returncode != 0
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "employees" in error["message"]
    assert [r for r in emulator.requests() if r["method"] == "POST"] == []


def test_create_mode_without_upsert(emulator, tmp_path):
    rows = [{"email": "a@x.example", "first": "A"}, {"email": "b@x.example", "first": "B"}]
    config = config_for(emulator, "people", column_mapping=PEOPLE_MAPPING, upsert=False, partial_success=True)
    assert (
        run_connector(["write"], tmp_path, config, catalog_for("people"), people_messages(rows)).returncode
        == 0
    )
    again = run_connector(["write"], tmp_path, config, catalog_for("people"), people_messages(rows))
    # Same content → same client-side id: the second run knows both are written already.
    assert again.returncode == 0, again.stdout
    assert len(emulator.records("people")) == 2
    changed = [{"email": "a@x.example", "first": "Z"}]
    third = run_connector(["write"], tmp_path, config, catalog_for("people"), people_messages(changed))
    (error,) = third.errors  # a new record with an existing email is a duplicate in create mode
    assert "already exists" in error["message"] and "a@x.example" in error["message"]


def test_streams_of_the_same_name_in_two_namespaces_are_counted_apart(emulator, tmp_path):
    def ns_record(namespace, email):
        message = record("people", {"emails.primaryEmail": email})
        message["record"]["namespace"] = namespace
        return message

    def ns_state(namespace, state_id):
        message = state("people", 1, state_id)
        message["state"]["stream"]["stream_descriptor"]["namespace"] = namespace
        return message

    catalog = catalog_for("people")
    catalog["streams"].append(
        {**catalog["streams"][0], "stream": {**catalog["streams"][0]["stream"], "namespace": "eu"}}
    )
    messages = [
        ns_record(None, "a@ns.example"),
        ns_record("eu", "b@ns.example"),
        ns_record("eu", "c@ns.example"),
        ns_state("eu", 1),
        ns_state(None, 2),
    ]
    run = run_connector(["write"], tmp_path, config_for(emulator, "people"), catalog, messages)
    assert run.returncode == 0, run.stdout
    assert [(s["id"], s["destinationStats"]["recordCount"]) for s in run.states] == [(1, 2.0), (2, 1.0)]
    assert len(emulator.records("people")) == 3
