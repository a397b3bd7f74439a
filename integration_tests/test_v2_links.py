"""Links and targets on the v2 line (issue 18 §1), through the console script against the emulator's `v2` mode:
its REST metadata pages its objects and names no relation target (only `settings`), the GraphQL metadata API
(`POST /metadata`) does, and notes and tasks link through MORPH_RELATION fields (targetPersonId …)."""

import pytest
import requests

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator


@pytest.fixture(scope="module")
def v2_server():
    with run_emulator("--rate-limit", "off", api_key=API_KEY, twenty_version="v2") as emulator:
        yield emulator


@pytest.fixture
def v2(v2_server):
    v2_server.reset(metadata=True)
    return v2_server


def post(emulator, path, body):
    response = requests.post(
        f"{emulator.url}/rest/{path}", json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    )
    assert response.status_code == 201, response.text
    return next(iter(response.json()["data"].values()))["id"]


def seed(emulator):
    return {
        "acme": post(
            emulator, "companies", {"name": "Acme", "domainName": {"primaryLinkUrl": "https://acme.example"}}
        ),
        "globex": post(
            emulator,
            "companies",
            {"name": "Globex", "domainName": {"primaryLinkUrl": "https://globex.example"}},
        ),
        "ada": post(emulator, "people", {"emails": {"primaryEmail": "ada@v2.example"}}),
    }


def metadata_reads(emulator):
    return [r for r in emulator.requests() if r["path"] == "/metadata"]


def test_people_are_linked_to_companies_by_domain(v2, tmp_path):
    ids = seed(v2)
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
    ]
    rows = [
        {"email": "bo@v2.example", "domain": "https://acme.example/"},
        {"email": "cy@v2.example", "domain": "https://GLOBEX.example"},
        {"email": "di@v2.example", "domain": "https://nowhere.example"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(v2, "people", column_mapping=mapping, partial_success=True),
        catalog_for("contacts"),
        [record("contacts", row) for row in rows] + [state("contacts", 3, 1)],
    )
    assert run.returncode == 0, run.stdout
    people = {p["emails"]["primaryEmail"]: p for p in v2.records("people")}
    assert people["bo@v2.example"]["companyId"] == ids["acme"]
    assert people["cy@v2.example"]["companyId"] == ids["globex"]
    assert "di@v2.example" not in people  # a domain that matches nothing rejects its record
    (error,) = run.errors
    assert "no company with domainName.primaryLinkUrl" in error["message"], error
    assert run.states[-1]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}
    assert len(metadata_reads(v2)) == 1  # the relation targets cost one GraphQL metadata read


def test_opportunities_get_their_company_and_point_of_contact(v2, tmp_path):
    ids = seed(v2)
    mapping = [
        {"column": "deal", "field": "name"},
        {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
        {"column": "contact", "field": "pointOfContact.emails.primaryEmail"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(v2, "opportunities", column_mapping=mapping),
        catalog_for("deals"),
        [record("deals", {"deal": "Big", "domain": "https://globex.example", "contact": "Ada@V2.example"})],
    )
    assert run.returncode == 0, run.stdout
    (deal,) = v2.records("opportunities")
    assert (deal["name"], deal["companyId"], deal["pointOfContactId"]) == ("Big", ids["globex"], ids["ada"])


def test_a_raw_id_link_needs_no_graphql_read(v2, tmp_path):
    ids = seed(v2)
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "company_id", "field": "company.id"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(v2, "people", column_mapping=mapping),
        catalog_for("contacts"),
        [record("contacts", {"email": "eve@v2.example", "company_id": ids["acme"]})],
    )
    assert run.returncode == 0, run.stdout
    (eve,) = [p for p in v2.records("people") if p["emails"]["primaryEmail"] == "eve@v2.example"]
    assert eve["companyId"] == ids["acme"]
    assert metadata_reads(v2) == []  # the join column is in the REST metadata's settings


@pytest.mark.parametrize("mode", ["notes", "tasks"])
def test_notes_and_tasks_target_people_companies_and_opportunities(v2, tmp_path, mode):
    ids = seed(v2)
    deal = post(v2, "opportunities", {"name": "Big"})
    mapping = [
        {"column": "title", "field": "title"},
        {"column": "who", "field": "targets.person.emails.primaryEmail"},
        {"column": "where", "field": "targets.company.domainName.primaryLinkUrl"},
        {"column": "deal", "field": "targets.opportunity.name"},
    ]
    rows = [{"title": "Call", "who": "ada@v2.example", "where": "https://acme.example", "deal": "Big"}]
    config = config_for(v2, mode, column_mapping=mapping)
    for _ in range(2):  # the second sync upserts the same junction rows
        run = run_connector(
            ["write"],
            tmp_path,
            config,
            catalog_for("memos", primary_key=[["title"]]),
            [record("memos", rows[0])],
        )
        assert run.returncode == 0, run.stdout
    (owner,) = v2.records(mode)
    junction, owner_column = {"notes": ("noteTargets", "noteId"), "tasks": ("taskTargets", "taskId")}[mode]
    links = {
        (t[owner_column], t["targetPersonId"], t["targetCompanyId"], t["targetOpportunityId"])
        for t in v2.records(junction)
        if not t.get("deletedAt")
    }
    assert links == {
        (owner["id"], ids["ada"], None, None),
        (owner["id"], None, ids["acme"], None),
        (owner["id"], None, None, deal),
    }
    assert len(v2.records(junction)) == 3


def test_check_reports_the_v2_line_under_its_rate_limit(tmp_path):
    mapping = [
        {"column": "title", "field": "title"},
        {"column": "who", "field": "targets.person.emails.primaryEmail"},
    ]
    with run_emulator(api_key=API_KEY, twenty_version="v2") as limited:  # 100 calls per 60 s, no headers
        run = run_connector(["check"], tmp_path, config_for(limited, "notes", column_mapping=mapping))
        calls = limited.requests()
    assert run.status["status"] == "SUCCEEDED", run.status
    (line,) = [line for line in run.logs if line.startswith("Twenty server:")]
    for part in (
        "REST batch upsert works",
        "rich text is RICH_TEXT",
        "targetPersonId",
        "GraphQL metadata API",
    ):
        assert part in line, line
    assert all(c["status"] != 429 for c in calls)
    assert len(calls) <= 5, calls  # metadata, relation targets, one read, the upsert probe


def test_check_refuses_an_unknown_target_with_the_targets_it_has(v2, tmp_path):
    mapping = [{"column": "who", "field": "targets.pet.name"}]
    run = run_connector(["check"], tmp_path, config_for(v2, "notes", column_mapping=mapping))
    assert run.status["status"] == "FAILED"
    message = run.status["message"]
    assert "'pet' is not something a note can be linked to" in message
    assert "person" in message and "company" in message and "opportunity" in message


def test_discover_describes_relations_and_reads_every_metadata_page(v2, tmp_path):
    headers = {"Authorization": f"Bearer {API_KEY}"}
    for n in range(60):  # 13 standard objects + 60 custom: two pages of 60
        body = {
            "nameSingular": f"thing{n}",
            "namePlural": f"things{n}",
            "labelSingular": f"Thing {n}",
            "labelPlural": f"Things {n}",
        }
        response = requests.post(f"{v2.url}/rest/metadata/objects", json=body, headers=headers, timeout=10)
        assert response.status_code == 201, response.text
    run = run_connector(["discover"], tmp_path, config_for(v2, "people"))
    assert run.returncode == 0, run.stdout
    (message,) = run.messages
    ops = {op["object_name"]: op for op in message["destination_catalog"]["operations"]}
    assert {f"things{n}" for n in range(60)} <= set(ops)
    people = ops["people"]["json_schema"]["properties"]
    assert people["companyId"]["format"] == "uuid"
    assert "domainName" in people["company"]["properties"]  # the target came from /metadata
    opportunity = ops["opportunities"]["json_schema"]["properties"]
    assert "emails" in opportunity["pointOfContact"]["properties"]
    listing = [r for r in v2.requests() if r["path"] == "/rest/metadata/objects" and r["method"] == "GET"]
    assert len(listing) == 2 and listing[1]["query"]["starting_after"]
    assert len(metadata_reads(v2)) == 1


def test_check_says_why_when_the_graphql_metadata_cannot_be_read(tmp_path):
    mapping = [{"column": "domain", "field": "company.domainName.primaryLinkUrl"}]
    # Request 1 is the REST metadata listing, request 2 the GraphQL read of relation targets.
    with run_emulator(
        "--rate-limit", "off", "--faults", "503@2", api_key=API_KEY, twenty_version="v2"
    ) as server:
        config = config_for(server, "people", column_mapping=mapping, check_retry_seconds=0)
        run = run_connector(["check"], tmp_path, config)
    assert run.status["status"] == "FAILED"
    message = run.status["message"]
    assert "does not say which object the relation company points to" in message, message
    assert "GraphQL metadata API could not be read" in message and "503" in message, message
