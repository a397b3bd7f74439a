"""Every Twenty a user runs (issue 13): upsert, update by id, partial success and relations against the emulator
answering as today's server, the v1.3 line (REST batch upsert ignored; GraphQL upsert), v1.20+ (new names) and the
v2 line (relation targets only in the GraphQL metadata API, issue 18)."""

import pytest
import requests

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator

VERSIONS = ["current", "v1.3", "v1.20", "v2"]
MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
    {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
]
MISSING_COMPANY = "00000000-0000-4000-8000-00000000c0de"


@pytest.fixture(params=VERSIONS)
def server(request):
    with run_emulator("--rate-limit", "off", api_key=API_KEY, twenty_version=request.param) as emulator:
        emulator.version = request.param
        yield emulator


def post(emulator, plural, body):
    response = requests.post(
        f"{emulator.url}/rest/{plural}", json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    )
    assert response.status_code == 201, response.text
    return next(iter(response.json()["data"].values()))["id"]


def test_check_says_what_the_server_can_do(server, tmp_path):
    run = run_connector(["check"], tmp_path, config_for(server, "notes"))
    assert run.status["status"] == "SUCCEEDED", run.status
    (line,) = [line for line in run.logs if line.startswith("Twenty server:")]
    expected = {
        "current": ["REST batch upsert works", "RICH_TEXT_V2", "personId"],
        "v1.3": ["go through GraphQL", "RICH_TEXT_V2", "personId"],
        "v1.20": ["REST batch upsert works", "rich text is RICH_TEXT", "targetPersonId"],
        "v2": ["REST batch upsert works", "rich text is RICH_TEXT", "targetPersonId"],
    }[server.version]
    assert all(part in line for part in expected), line


def test_upsert_update_by_id_partial_success_and_links(server, tmp_path):
    acme = post(
        server, "companies", {"name": "Acme", "domainName": {"primaryLinkUrl": "https://acme.example"}}
    )
    rows = [
        {"email": f"p{n}@ver.example", "first": f"P{n}", "domain": "https://acme.example"} for n in range(5)
    ]
    config = config_for(server, "people", column_mapping=MAPPING, partial_success=True)
    messages = [record("people", row) for row in rows] + [state("people", 5, 1)]
    first = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert first.returncode == 0, first.stdout
    changed = [{**row, "first": row["first"] + "!"} for row in rows]
    changed.append({"email": "bad@ver.example", "first": "Bad", "domain": "https://nope.example"})
    second = run_connector(
        ["write"],
        tmp_path,
        config,
        catalog_for("people"),
        [record("people", r) for r in changed] + [state("people", 6, 2)],
    )
    assert second.returncode == 0, second.stdout
    assert any("created 0, updated 5, rejected 1" in line for line in second.logs), second.logs
    assert second.states[-1]["destinationStats"] == {"recordCount": 5.0, "rejectedRecordCount": 1.0}
    people = {p["emails"]["primaryEmail"]: p for p in server.records("people") if not p.get("deletedAt")}
    assert len(people) == 5
    assert all(p["name"]["firstName"].endswith("!") and p["companyId"] == acme for p in people.values())

    by_id = [{"id": p["id"], "city": "Lima"} for p in people.values()]
    by_id.append({"id": "00000000-0000-4000-8000-0000000000ff", "city": "Nowhere"})
    third = run_connector(
        ["write"],
        tmp_path,
        config_for(server, "people", partial_success=True),
        catalog_for("people"),
        [record("people", r) for r in by_id],
    )
    assert third.returncode == 0, third.stdout
    assert any("created 0, updated 5, rejected 1" in line for line in third.logs), third.logs
    assert {p["city"] for p in server.records("people") if not p.get("deletedAt")} == {"Lima"}


def test_notes_link_their_targets_under_either_naming(server, tmp_path):
    person = post(server, "people", {"emails": {"primaryEmail": "ada@ver.example"}})
    mapping = [
        {"column": "title", "field": "title"},
        {"column": "who", "field": "targets.person.emails.primaryEmail"},
    ]
    messages = [record("memos", {"title": "Call", "who": "ada@ver.example"}), state("memos", 1, 1)]
    config = config_for(server, "notes", column_mapping=mapping)
    for _ in range(2):  # the second sync upserts the same junction row
        run = run_connector(
            ["write"], tmp_path, config, catalog_for("memos", primary_key=[["title"]]), messages
        )
        assert run.returncode == 0, run.stdout
    (target,) = [t for t in server.records("noteTargets") if not t.get("deletedAt")]
    column = "targetPersonId" if server.version in ("v1.20", "v2") else "personId"
    assert target[column] == person
