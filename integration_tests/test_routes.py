"""One connection writes the whole CRM (issue 21): a route per stream, update-only and delete operations, and the
deletes CDC sources mark, through the console script against the emulator."""

from __future__ import annotations

import pytest

from integration_tests.conftest import (
    API_KEY,
    catalog_for,
    config_for,
    live,
    record,
    run_connector,
    state,
)
from twenty_emulator.testing import run_emulator

COMPANY = [
    {"column": "domain", "field": "domainName.primaryLinkUrl"},
    {"column": "name", "field": "name"},
]
PERSON = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]


def summary(run) -> str:
    (line,) = [line for line in run.logs if line.startswith("Sync summary")]
    return line


def stats(run) -> list[float]:
    return [s["destinationStats"]["recordCount"] for s in run.states]


def graphql_calls(emulator) -> list[dict]:
    return [r for r in emulator.requests() if r["path"] == "/graphql"]


def test_each_stream_goes_to_its_route_and_the_default_takes_the_rest(emulator, tmp_path):
    config = config_for(
        emulator,
        "people",
        column_mapping=PERSON,
        streams=[
            {"stream": "accounts", "mode": "companies", "column_mapping": COMPANY},
            {
                "stream": "deals",
                "mode": "opportunities",
                "column_mapping": [{"column": "title", "field": "name"}],
            },
        ],
    )
    messages = [
        record("accounts", {"domain": "https://a.routes.example", "name": "A"}),
        record("contacts", {"email": "x@routes.example", "first": "X"}),
        record("deals", {"title": "Big deal"}),
        state("accounts", 1, 1),
        state("contacts", 1, 2),
        state("deals", 1, 3),
    ]
    run = run_connector(["write"], tmp_path, config, catalog_for("accounts", "contacts", "deals"), messages)
    assert run.returncode == 0, run.stdout
    assert [c["name"] for c in emulator.records("companies")] == ["A"]
    assert [p["emails"]["primaryEmail"] for p in emulator.records("people")] == ["x@routes.example"]
    assert [o["name"] for o in emulator.records("opportunities")] == ["Big deal"]
    assert stats(run) == [1, 1, 1]
    assert any(
        line.startswith("Stream 'accounts':") and "(written to companies)" in line for line in run.logs
    )


def _seed_people(emulator, tmp_path, emails):
    config = config_for(emulator, "people", column_mapping=PERSON)
    rows = [record("people", {"email": e, "first": "Old"}) for e in emails]
    run = run_connector(["write"], tmp_path, config, catalog_for("people", mode="append"), rows)
    assert run.returncode == 0, run.stdout


def test_update_only_updates_what_matches_rejects_the_misses_and_creates_nothing(emulator, tmp_path):
    _seed_people(emulator, tmp_path, ["a@upd.example", "b@upd.example"])
    config = config_for(
        emulator,
        "people",
        partial_success=True,
        streams=[{"stream": "changes", "mode": "people", "column_mapping": PERSON, "operation": "update"}],
    )
    messages = [
        record("changes", {"email": "A@upd.example", "first": "New"}),
        record("changes", {"email": "nobody@upd.example", "first": "Ghost"}),
        record("changes", {"email": "b@upd.example", "first": "New"}),
        state("changes", 1, 1),
    ]
    run = run_connector(["write"], tmp_path, config, catalog_for("changes", mode="append"), messages)
    assert run.returncode == 0, run.stdout
    people = {p["emails"]["primaryEmail"]: p["name"]["firstName"] for p in emulator.records("people")}
    assert people == {"a@upd.example": "New", "b@upd.example": "New"}  # nothing created
    (error,) = run.errors
    assert "Record 2 of stream 'changes'" in error["message"]
    assert "emails.primaryEmail=nobody@upd.example" in error["message"]
    assert "nothing was created" in error["message"]
    (only,) = run.states
    assert only["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}
    assert "updated 2, rejected 1" in summary(run)


def test_update_only_without_partial_success_stops_at_the_first_miss(emulator, tmp_path):
    _seed_people(emulator, tmp_path, ["a@upd2.example"])
    config = config_for(
        emulator,
        "people",
        streams=[{"stream": "changes", "mode": "people", "column_mapping": PERSON, "operation": "update"}],
    )
    messages = [record("changes", {"email": "nobody@upd2.example", "first": "Ghost"}), state("changes", 1, 1)]
    run = run_connector(["write"], tmp_path, config, catalog_for("changes", mode="append"), messages)
    assert run.returncode == 1
    assert run.states == []
    assert len(emulator.records("people")) == 1


def _seed_companies(emulator, tmp_path, n):
    config = config_for(emulator, "companies", column_mapping=COMPANY)
    rows = [record("companies", {"domain": f"https://c{i}.del.example", "name": f"C{i}"}) for i in range(n)]
    run = run_connector(["write"], tmp_path, config, catalog_for("companies", mode="append"), rows)
    assert run.returncode == 0, run.stdout


def test_a_delete_route_soft_deletes_exactly_the_matches_in_one_call_per_batch(emulator, tmp_path):
    _seed_companies(emulator, tmp_path, 250)
    before = len(emulator.requests())
    config = config_for(
        emulator,
        "people",
        streams=[
            {"stream": "gone", "mode": "companies", "column_mapping": COMPANY[:1], "operation": "delete"}
        ],
    )
    rows = [record("gone", {"domain": f"https://C{i}.del.example/"}) for i in range(0, 250, 2)]  # 125 of them
    rows += [record("gone", {"domain": f"https://missing{i}.del.example"}) for i in range(5)]
    run = run_connector(
        ["write"], tmp_path, config, catalog_for("gone", mode="append"), [*rows, state("gone", 1, 7)]
    )
    assert run.returncode == 0, run.stdout
    stored = emulator.records("companies")  # the inspection door shows soft-deleted records too
    deleted = {c["name"] for c in stored if c["deletedAt"]}
    assert deleted == {f"C{i}" for i in range(0, 250, 2)}
    assert len(live(stored)) == 125 and len(stored) == 250  # soft: restorable from the trash
    assert "deleted 125, to delete but not found 5" in summary(run)
    assert stats(run) == [130]
    calls = emulator.requests()[before:]
    deletes = [c for c in calls if c["path"] == "/graphql"]
    assert len(deletes) == 1  # 130 records, one batch, one call
    assert not [c for c in calls if c["method"] == "DELETE"]


def test_cdc_deletes_delete_their_match_and_ignore_counts_them(emulator, tmp_path):
    pk = [["id"]]
    config = config_for(
        emulator,
        "people",
        streams=[
            {"stream": "users", "mode": "people", "column_mapping": PERSON, "on_source_delete": "delete"},
            {"stream": "leads", "mode": "people", "column_mapping": PERSON},
        ],
    )
    first = [record("users", {"id": n, "email": f"u{n}@cdc.example", "first": "U"}) for n in range(4)]
    first += [record("leads", {"id": n, "email": f"l{n}@cdc.example", "first": "L"}) for n in range(2)]
    run = run_connector(["write"], tmp_path, config, catalog_for("users", "leads", primary_key=pk), first)
    assert run.returncode == 0, run.stdout
    second = [
        record(
            "users", {"id": 1, "email": None, "first": None, "_ab_cdc_deleted_at": "2026-12-01T00:00:00Z"}
        ),
        record("users", {"id": 3, "_ab_cdc_deleted_at": "2026-12-01T00:00:00Z"}),
        record("users", {"id": 9, "_ab_cdc_deleted_at": "2026-12-01T00:00:00Z"}),  # never synced
        record("users", {"id": 2, "email": "u2@cdc.example", "first": "Still"}),
        record("leads", {"id": 0, "email": "l0@cdc.example", "_ab_cdc_deleted_at": "2026-12-01T00:00:00Z"}),
        state("users", 2, 1),
        state("leads", 2, 2),
    ]
    run = run_connector(["write"], tmp_path, config, catalog_for("users", "leads", primary_key=pk), second)
    assert run.returncode == 0, run.stdout
    alive = {p["emails"]["primaryEmail"]: p["name"]["firstName"] for p in live(emulator.records("people"))}
    assert alive == {
        "u0@cdc.example": "U",
        "u2@cdc.example": "Still",
        "l0@cdc.example": "L",
        "l1@cdc.example": "L",
    }
    line = summary(run)
    assert "stream 'users': created 0, updated 1, deleted 2, to delete but not found 1, rejected 0" in line
    assert "stream 'leads': created 0, updated 0, source deletes ignored 1, rejected 0" in line
    assert stats(run) == [4, 1]


@pytest.mark.parametrize("version", ["v1.3", "current"])
def test_deletes_stay_soft_on_every_version(tmp_path, version):
    with run_emulator("--rate-limit", "off", api_key=API_KEY, twenty_version=version) as emulator:
        _seed_companies(emulator, tmp_path, 3)
        config = config_for(
            emulator,
            "companies",
            streams=[
                {"stream": "gone", "mode": "companies", "column_mapping": COMPANY[:1], "operation": "delete"}
            ],
        )
        rows = [record("gone", {"domain": "https://c1.del.example"})]
        run = run_connector(["write"], tmp_path, config, catalog_for("gone", mode="append"), rows)
        assert run.returncode == 0, run.stdout
        stored = emulator.records("companies")
        assert len(stored) == 3 and [c["name"] for c in stored if c["deletedAt"]] == ["C1"]


CRM_ROUTES = [
    {"stream": "companies", "mode": "companies", "column_mapping": COMPANY},
    {
        "stream": "people",
        "mode": "people",
        "column_mapping": [
            *PERSON,
            {"column": "company_domain", "field": "company.domainName.primaryLinkUrl"},
        ],
    },
    {
        "stream": "deals",
        "mode": "opportunities",
        "column_mapping": [
            {"column": "title", "field": "name"},
            {"column": "company_domain", "field": "company.domainName.primaryLinkUrl"},
            {"column": "contact", "field": "pointOfContact.emails.primaryEmail"},
        ],
    },
]


def crm_messages(n_companies=30, people_per_company=3):
    early = [  # people of the last five companies arrive before any company
        record(
            "people",
            {"email": f"early{c}@crm.example", "first": "E", "company_domain": f"https://c{c}.crm.example"},
        )
        for c in range(n_companies - 5, n_companies)
    ]
    companies = [
        record("companies", {"domain": f"https://c{c}.crm.example", "name": f"C{c}"})
        for c in range(n_companies)
    ]
    people = [
        record(
            "people",
            {"email": f"p{c}.{k}@crm.example", "first": "P", "company_domain": f"https://C{c}.crm.example/"},
        )
        for c in range(n_companies)
        for k in range(people_per_company)
    ]
    deals = [
        record(
            "deals",
            {
                "title": f"Deal {c}",
                "company_domain": f"https://c{c}.crm.example",
                "contact": f"p{c}.0@crm.example",
            },
        )
        for c in range(n_companies)
    ]
    return [
        *early,
        state("people", 1, 1),
        *companies[:10],
        state("companies", 1, 2),
        *deals[:5],  # deals of companies written, contacts not yet
        *companies[10:],
        state("companies", 2, 3),
        *people,
        state("people", 2, 4),
        *deals[5:],
        state("deals", 1, 5),
    ]


def test_one_sync_writes_companies_people_and_deals_with_every_link(emulator, tmp_path):
    config = config_for(emulator, "people", streams=CRM_ROUTES, batch_size=20)
    messages = crm_messages()
    run = run_connector(["write"], tmp_path, config, catalog_for("companies", "people", "deals"), messages)
    assert run.returncode == 0, run.stdout
    companies = {c["domainName"]["primaryLinkUrl"]: c["id"] for c in emulator.records("companies")}
    people = {p["emails"]["primaryEmail"]: p for p in emulator.records("people")}
    deals = emulator.records("opportunities")
    assert len(companies) == 30 and len(people) == 95 and len(deals) == 30
    for email, person in people.items():
        domain = f"https://c{email.split('@')[0].lstrip('early').lstrip('p').split('.')[0]}.crm.example"
        assert person["companyId"] == companies[domain], email
    for deal in deals:
        c = deal["name"].split()[1]
        assert deal["companyId"] == companies[f"https://c{c}.crm.example"]
        assert deal["pointOfContactId"] == people[f"p{c}.0@crm.example"]["id"]
    assert not run.errors
    # Every STATE leaves, in order, counting exactly the records before it.
    assert [s["id"] for s in run.states] == [1, 2, 3, 4, 5]
    assert stats(run) == [5, 10, 20, 90, 30]
    line = summary(run)
    assert "stream 'people': created 95, updated 0, rejected 0 (links: 95 written, 5 records waited" in line
    assert "stream 'deals': created 30, updated 0, rejected 0 (links: 60 written, 5 records waited" in line
    # Links to records this sync wrote cost no lookup: no read of people at all, and the only reads of companies
    # are the stored link labels a partial LINKS write keeps (one per company batch, filtered on domains).
    reads = [
        r
        for r in emulator.requests()
        if r["method"] == "GET" and r["path"] in ("/rest/companies", "/rest/people")
    ]
    assert all(r["path"] == "/rest/companies" for r in reads), reads
    writes = [
        r for r in emulator.requests() if r["method"] == "POST" and r["path"] == "/rest/batch/companies"
    ]
    assert len(reads) == len(writes)


def test_a_target_no_stream_writes_is_still_rejected_at_the_end(emulator, tmp_path):
    config = config_for(emulator, "people", streams=CRM_ROUTES, partial_success=True)
    messages = [
        record("people", {"email": "lost@crm.example", "company_domain": "https://nowhere.crm.example"}),
        state("people", 1, 1),
        record("companies", {"domain": "https://here.crm.example", "name": "Here"}),
        state("companies", 1, 2),
    ]
    run = run_connector(["write"], tmp_path, config, catalog_for("companies", "people", "deals"), messages)
    assert run.returncode == 0, run.stdout
    (error,) = run.errors
    assert "no company with domainName.primaryLinkUrl https://nowhere.crm.example" in error["message"]
    assert [(s["id"], s["destinationStats"]) for s in run.states] == [
        (1, {"recordCount": 0.0, "rejectedRecordCount": 1.0}),
        (2, {"recordCount": 1.0}),
    ]
    assert emulator.records("people") == []


def activation_stream(name, object_name, sync_mode, primary_key, properties):
    """A configured stream as the platform builds it for a data-activation connection: the object, the operation,
    the matching key in Twenty's field names, and a schema already renamed by the platform's mappers."""
    return {
        "stream": {
            "name": name,
            "json_schema": {"type": "object", "properties": {p: {"type": "string"} for p in properties}},
            "supported_sync_modes": ["full_refresh", "incremental"],
        },
        "sync_mode": "incremental",
        "destination_sync_mode": sync_mode,
        "primary_key": primary_key,
        "cursor_field": [],
        "generation_id": 1,
        "minimum_generation_id": 0,
        "sync_id": 42,
        "destination_object_name": object_name,
        "include_files": False,
    }


def test_a_data_activation_catalog_writes_as_configured(emulator, tmp_path):
    # The config's own object (notes) is overridden for every stream the catalog names an object for.
    seed = config_for(emulator, "people", column_mapping=PERSON + [{"column": "city", "field": "city"}])
    rows = [
        record("seed", {"email": f"{n}@act.example", "first": ["Ada", "Bob", "Ada", "Cy"][n], "city": c})
        for n, c in enumerate(["Paris", "Paris", "Lyon", "Oslo"])
    ]
    assert run_connector(["write"], tmp_path, seed, catalog_for("seed", mode="append"), rows).returncode == 0
    config = config_for(emulator, "notes", partial_success=True)
    catalog = {
        "streams": [
            # update on a composite matching key of renamed fields (jobTitle set where name + city match)
            activation_stream(
                "promotions", "people", "update", [["name"], ["city"]], ["name", "city", "jobTitle"]
            ),
            # soft delete matched on emails; the source column was renamed to "emails" and holds a plain string
            activation_stream("leavers", "people", "soft_delete", [["emails"]], ["emails"]),
            # append_dedup matched on domainName: the second sync of the same domain updates it
            activation_stream(
                "accounts", "companies", "append_dedup", [["domainName"]], ["domainName", "name"]
            ),
        ]
    }
    messages = [
        record("promotions", {"name": {"firstName": "Ada"}, "city": "Lyon", "jobTitle": "CTO"}),
        record("promotions", {"name": {"firstName": "Zed"}, "city": "Rome", "jobTitle": "CEO"}),  # no match
        record("leavers", {"emails": "3@ACT.example"}),
        record("leavers", {"emails": "nobody@act.example"}),
        record("accounts", {"domainName": "https://acme.act.example", "name": "Acme"}),
        state("promotions", 1, 1),
    ]
    run = run_connector(["write"], tmp_path, config, catalog, messages)
    assert run.returncode == 0, run.stdout
    again = [record("accounts", {"domainName": "https://ACME.act.example/", "name": "Acme Inc"})]
    assert run_connector(["write"], tmp_path, config, catalog, again).returncode == 0
    people = {p["emails"]["primaryEmail"]: p for p in emulator.records("people")}
    line = summary(run)
    assert people["2@act.example"]["jobTitle"] == "CTO"  # Ada in Lyon, not Ada in Paris
    assert people["0@act.example"]["jobTitle"] == ""
    assert people["3@act.example"]["deletedAt"] and not people["1@act.example"]["deletedAt"]
    assert len(people) == 4  # update never creates
    (error,) = run.errors
    assert "no record in people matches name.firstName=Zed + name.lastName= + city=Rome" in error["message"]
    assert [c["name"] for c in emulator.records("companies")] == ["Acme Inc"]
    assert emulator.records("notes") == []
    line = summary(run)
    assert "stream 'leavers': created 0, updated 0, deleted 1, to delete but not found 1" in line
    assert "stream 'promotions': created 0, updated 1, rejected 1" in line


def test_every_operation_discover_offers_is_accepted_by_write(emulator, tmp_path):
    config = config_for(emulator, "people")
    run = run_connector(["discover"], tmp_path, config)
    (message,) = run.messages
    operations = [
        o for o in message["destination_catalog"]["operations"] if o["object_name"] in ("people", "companies")
    ]
    assert {o["sync_mode"] for o in operations} == {"append", "append_dedup", "update", "soft_delete"}
    for n, op in enumerate(operations):
        for key in op.get("matching_keys") or [[]]:
            fields = [*key, "name"] if op["object_name"] == "companies" else [*key, "jobTitle"]
            stream = activation_stream(
                f"s{n}", op["object_name"], op["sync_mode"], [[k] for k in key if k], fields
            )
            data = {
                "emails": f"d{n}@disc.example",
                "domainName": f"https://d{n}.disc.example",
                "id": None,
                "name": "N",
            }
            data = {k: v for k, v in data.items() if k in fields and v is not None}
            out = run_connector(["write"], tmp_path, config, {"streams": [stream]}, [record(f"s{n}", data)])
            refused = [
                e for e in out.errors if e["failure_type"] == "config_error" and "Record" not in e["message"]
            ]
            assert not refused, (op["object_name"], op["sync_mode"], key, out.stdout)


def test_check_validates_every_route_and_says_one_line_each(emulator, tmp_path):
    config = config_for(emulator, "people", streams=CRM_ROUTES)
    run = run_connector(["check"], tmp_path, config)
    assert run.status["status"] == "SUCCEEDED", run.stdout
    lines = [line for line in run.logs if line.startswith(("Stream '", "Streams no route"))]
    assert lines[0].startswith("Streams no route names → people: upsert records")
    assert lines[1].startswith("Stream 'companies' → companies: upsert records")
    assert "linking company.domainName.primaryLinkUrl, pointOfContact.emails.primaryEmail" in lines[3]
    assert len(lines) == 4
    bad = [
        *CRM_ROUTES,
        {"stream": "x", "mode": "companies", "column_mapping": [{"column": "a", "field": "domian"}]},
    ]
    run = run_connector(["check"], tmp_path, config_for(emulator, "people", streams=bad))
    assert run.status["status"] == "FAILED"
    assert "Stream 'x': The column mapping does not fit Twenty's companies" in run.status["message"]
    assert "domian" in run.status["message"]


def test_a_failure_while_records_wait_echoes_no_later_state(emulator, tmp_path):
    # partial success off: the waiting person whose company never comes is rejected at the end, the sync fails,
    # and the STATE after it (held while it waited) never leaves, so the platform sends it all again.
    config = config_for(emulator, "people", streams=CRM_ROUTES)
    messages = [
        record("companies", {"domain": "https://ok.crm.example", "name": "Ok"}),
        state("companies", 1, 1),
        record("people", {"email": "lost@crm.example", "company_domain": "https://nowhere.crm.example"}),
        state("people", 1, 2),
        record("companies", {"domain": "https://later.crm.example", "name": "Later"}),
        state("companies", 2, 3),
    ]
    run = run_connector(["write"], tmp_path, config, catalog_for("companies", "people", "deals"), messages)
    assert run.returncode == 1
    assert [s["id"] for s in run.states] == [1]
    (error,) = run.errors
    assert "no company with domainName.primaryLinkUrl https://nowhere.crm.example" in error["message"]
    assert emulator.records("people") == []


def test_a_dry_run_of_update_and_delete_routes_predicts_and_changes_nothing(emulator, tmp_path):
    _seed_companies(emulator, tmp_path, 3)
    config = config_for(
        emulator,
        "people",
        dry_run=True,
        partial_success=True,
        streams=[
            {"stream": "gone", "mode": "companies", "column_mapping": COMPANY[:1], "operation": "delete"},
            {"stream": "renames", "mode": "companies", "column_mapping": COMPANY, "operation": "update"},
        ],
    )
    messages = [
        record("gone", {"domain": "https://c0.del.example"}),
        record("gone", {"domain": "https://none.del.example"}),
        record("renames", {"domain": "https://c1.del.example", "name": "New"}),
        record("renames", {"domain": "https://none.del.example", "name": "New"}),
    ]
    before = emulator.records("companies")
    run = run_connector(["write"], tmp_path, config, catalog_for("gone", "renames", mode="append"), messages)
    assert run.returncode == 0, run.stdout
    assert emulator.records("companies") == before
    line = next(line for line in run.logs if line.startswith("Dry run summary"))
    assert (
        "stream 'gone': would create 0, would update 0, would reject 0, would delete 1 (not found 1)" in line
    )
    assert "stream 'renames': would create 0, would update 1, would reject 1" in line


def test_notes_arriving_before_the_people_and_companies_they_are_about_get_their_targets(emulator, tmp_path):
    routes = [
        *CRM_ROUTES[:2],
        {
            "stream": "notes",
            "mode": "notes",
            "column_mapping": [
                {"column": "subject", "field": "title"},
                {"column": "contact", "field": "targets.person.emails.primaryEmail"},
                {"column": "company_domain", "field": "targets.company.domainName.primaryLinkUrl"},
            ],
        },
    ]
    messages = [
        record(
            "notes",
            {"subject": "Call", "contact": "p0.0@crm.example", "company_domain": "https://c0.crm.example"},
        ),
        state("notes", 1, 1),
        record("companies", {"domain": "https://c0.crm.example", "name": "C0"}),
        record("people", {"email": "p0.0@crm.example", "company_domain": "https://c0.crm.example"}),
        state("people", 1, 2),
    ]
    config = config_for(emulator, "people", streams=routes)
    run = run_connector(["write"], tmp_path, config, catalog_for("companies", "people", "notes"), messages)
    assert run.returncode == 0, run.stdout
    (note,) = emulator.records("notes")
    targets = {(t.get("personId"), t.get("companyId")) for t in emulator.records("noteTargets")}
    person = emulator.records("people")[0]["id"]
    company = emulator.records("companies")[0]["id"]
    assert targets == {(person, None), (None, company)}
    # per-stream states: the note counts in the notes state, the person in the people state
    assert [(s["id"], s["destinationStats"]["recordCount"]) for s in run.states] == [(1, 1.0), (2, 1.0)]
