"""Links by connect inside the write (issue 22 §1), through the console script: on a server that connects by key
(the emulator's v2 and v1.3 modes, as recorded), a batch linking people to a company object too large to read
whole costs no lookup; a key matching nothing rejects only its record (or leaves only its link unset); check says
which; a server that refuses connect (the current mode) still links by lookup."""

import pytest
import requests

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator

COMPANIES = 2_001  # one more than the connector reads whole (links.PREFETCH_AT_MOST)
MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
]


def seeded(version):
    with run_emulator("--rate-limit", "off", api_key=API_KEY, twenty_version=version) as emulator:
        for start in range(0, COMPANIES, 200):
            body = [
                {"name": f"C{i}", "domainName": {"primaryLinkUrl": f"https://c{i}.example"}}
                for i in range(start, min(start + 200, COMPANIES))
            ]
            response = requests.post(
                f"{emulator.url}/rest/batch/companies",
                json=body,
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
        ids = {c["domainName"]["primaryLinkUrl"]: c["id"] for c in emulator.records("companies")}
        yield emulator, ids


@pytest.fixture(scope="module")
def v2():
    yield from seeded("v2")


@pytest.fixture(scope="module")
def current():
    yield from seeded("current")


ROWS = [
    {"email": "a@cx.example", "domain": "https://c7.example"},
    {"email": "b@cx.example", "domain": "HTTPS://C8.example/"},  # compared as Twenty stores it
    {"email": "c@cx.example", "domain": "https://nowhere.example"},
    {"email": "d@cx.example", "domain": "https://c2000.example"},
]


def write(emulator, tmp_path, mapping=MAPPING, email_domain="cx.example"):
    rows = [{**r, "email": r["email"].replace("cx.example", email_domain)} for r in ROWS]
    return run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping, partial_success=True),
        catalog_for("people"),
        [record("people", row) for row in rows] + [state("people", 4, 1)],
    )


def people(emulator, email_domain):
    return {
        p["emails"]["primaryEmail"]: p["companyId"]
        for p in emulator.records("people")
        if p["emails"]["primaryEmail"].endswith(email_domain)
    }


def calls(emulator, since):
    return [r for r in emulator.requests()[since:] if r["path"] != "/rest/metadata/objects"]


def test_links_by_connect_cost_no_lookup_and_a_missing_target_rejects_only_its_record(v2, tmp_path):
    emulator, ids = v2
    since = len(emulator.requests())
    run = write(emulator, tmp_path, email_domain="one.example")
    assert run.returncode == 0, run.stdout
    assert people(emulator, "one.example") == {
        "a@one.example": ids["https://c7.example"],
        "b@one.example": ids["https://c8.example"],
        "d@one.example": ids["https://c2000.example"],
    }
    rejected = [e for e in run.errors if "nowhere.example" in str(e)]
    assert len(rejected) == 1 and "no company with domainName.primaryLinkUrl https://nowhere.example" in str(
        rejected[0]
    )
    sent = calls(emulator, since)
    batches = [r for r in sent if r["method"] == "POST" and r["path"] == "/rest/batch/people"]
    # the probe, the batch with connects (refused: one key matches nothing), the batch again with ids
    assert len(batches) == 3
    lookups = [r for r in sent if r["method"] == "GET" and r["path"] == "/rest/companies"]
    assert len(lookups) == 2  # the size read, then the one lookup of the refused batch's keys


def test_without_a_missing_key_a_batch_links_by_connect_alone(v2, tmp_path):
    emulator, ids = v2
    since = len(emulator.requests())
    mapping = [MAPPING[0], {**MAPPING[1], "if_not_found": "leave_unset"}]
    rows_ok = [r for r in ROWS if "nowhere" not in r["domain"]]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping, partial_success=True),
        catalog_for("people"),
        [record("people", {**r, "email": r["email"].replace("cx", "two")}) for r in rows_ok]
        + [state("people", 3, 1)],
    )
    assert run.returncode == 0, run.stdout
    assert len(people(emulator, "two.example")) == 3
    assert set(people(emulator, "two.example").values()) == {
        ids["https://c7.example"],
        ids["https://c8.example"],
        ids["https://c2000.example"],
    }
    sent = calls(emulator, since)
    assert [r["method"] + " " + r["path"] for r in sent].count("GET /rest/companies") == 1  # the size read
    assert [r["method"] + " " + r["path"] for r in sent].count(
        "POST /rest/batch/people"
    ) == 2  # probe + batch


def test_leave_unset_leaves_only_the_missing_link_unset(v2, tmp_path):
    emulator, ids = v2
    mapping = [MAPPING[0], {**MAPPING[1], "if_not_found": "leave_unset"}]
    run = write(emulator, tmp_path, mapping, email_domain="three.example")
    assert run.returncode == 0, run.stdout
    assert people(emulator, "three.example") == {
        "a@three.example": ids["https://c7.example"],
        "b@three.example": ids["https://c8.example"],
        "c@three.example": None,
        "d@three.example": ids["https://c2000.example"],
    }
    assert run.states[-1]["destinationStats"] == {"recordCount": 4.0}


def check_line(emulator, tmp_path):
    run = run_connector(["check"], tmp_path, config_for(emulator, "people", column_mapping=MAPPING))
    assert run.status["status"] == "SUCCEEDED", run.status
    return next(line for line in run.logs if "Twenty server:" in line)


def test_check_reports_connect_support_and_writes_nothing(v2, current, tmp_path):
    before = len(v2[0].records("people"))
    assert "the company link is set by connect inside the write" in check_line(v2[0], tmp_path)
    assert len(v2[0].records("people")) == before
    assert "the company link is looked up (this server does not connect by key)" in check_line(
        current[0], tmp_path
    )


def test_a_server_without_connect_still_links_by_lookup(current, tmp_path):
    emulator, ids = current
    run = write(emulator, tmp_path, email_domain="four.example")
    assert run.returncode == 0, run.stdout
    assert people(emulator, "four.example") == {
        "a@four.example": ids["https://c7.example"],
        "b@four.example": ids["https://c8.example"],
        "d@four.example": ids["https://c2000.example"],
    }
    assert len([e for e in run.errors if "nowhere.example" in str(e)]) == 1


def test_check_reports_connect_for_each_route(v2, tmp_path):
    config = {
        **config_for(v2[0], "people", column_mapping=[MAPPING[0]]),
        "streams": [
            {"stream": "accounts", "mode": "companies", "column_mapping": [{"column": "n", "field": "name"}]},
            {"stream": "contacts", "mode": "people", "column_mapping": MAPPING},
        ],
    }
    run = run_connector(["check"], tmp_path, config)
    assert run.status["status"] == "SUCCEEDED", run.status
    assert (
        "Stream route to people: the company link is set by connect inside the write (a target too large to read "
        "whole costs no lookup)." in run.logs
    )
