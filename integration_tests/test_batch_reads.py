"""A read must cover a whole batch: with a primary key, completing a partial LINKS write looks a batch's stored
records up by 200 ids and 200 domains, more than one safe URL holds (twenty/filters.py MAX_FILTER_CHARS), so it is
one GraphQL query; a server without GraphQL record queries is read with several GETs, as exactly."""

import requests

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator

MAPPING = [{"column": "domain", "field": "domainName.primaryLinkUrl"}]
ODD = "https://odd.example/a(1),b"  # holds what a REST [in] list cannot: read by its lone [like] pattern


def seed(emulator, count):
    body = [
        {
            "name": f"C{i}",
            "domainName": {
                "primaryLinkUrl": f"https://c{i}.reads.example",
                "primaryLinkLabel": f"label {i}",
                "secondaryLinks": [{"url": f"https://s{i}.reads.example", "label": "second"}],
            },
        }
        for i in range(count)
    ]
    body.append({"name": "Odd", "domainName": {"primaryLinkUrl": ODD, "primaryLinkLabel": "odd label"}})
    for start in range(0, len(body), 200):
        response = requests.post(
            f"{emulator.url}/rest/batch/companies",
            json=body[start : start + 200],
            headers={"Authorization": f"Bearer {emulator.api_key}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text


def sync(emulator, tmp_path, count):
    # The domains of the seeded companies, upper-cased (Twenty compares links case-insensitively), plus the odd
    # one, each with a primary key: every id is new, so each record is matched on its domain.
    rows = [{"key": f"k{i}", "domain": f"https://C{i}.reads.example"} for i in range(count - 1)]
    rows.append({"key": "odd", "domain": ODD})
    before = len(emulator.requests())
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "companies", column_mapping=MAPPING),
        catalog_for("companies", primary_key=[["key"]]),
        [record("companies", r) for r in rows] + [state("companies", count)],
    )
    assert run.returncode == 0, run.stdout
    return run, emulator.requests()[before:]


def check_kept(emulator, count):
    stored = {c["name"]: c["domainName"] for c in emulator.records("companies")}
    assert len(stored) == count + 1, "every record updated its seeded company, none created"
    for i in range(count - 1):
        assert stored[f"C{i}"] == {
            "primaryLinkUrl": f"https://c{i}.reads.example",
            "primaryLinkLabel": f"label {i}",
            "secondaryLinks": [{"url": f"https://s{i}.reads.example", "label": "second"}],
        }
    assert stored["Odd"]["primaryLinkLabel"] == "odd label"


def record_calls(calls):
    return [
        c
        for c in calls
        if c["path"] in ("/graphql", "/rest/batch/companies") or c["path"].startswith("/rest/companies")
    ]


def test_a_keyed_batch_reads_its_stored_links_in_one_call_and_keeps_labels(emulator, tmp_path):
    seed(emulator, 400)
    run, calls = sync(emulator, tmp_path, 400)
    check_kept(emulator, 400)
    assert any("updated 400" in line for line in run.logs), run.logs
    reads = [c for c in calls if c["path"] == "/graphql" and c.get("root_field") == "companies"]
    writes = [c for c in calls if c["path"] == "/rest/batch/companies"]
    # Two batches of 200: one read and one write each, and no filtered GET.
    assert len(reads) == 2 and len(writes) == 2, record_calls(calls)
    assert len(record_calls(calls)) == 4
    assert not [c for c in calls if c["path"] == "/rest/companies" and "filter" in c["query"]]


def test_a_server_without_graphql_queries_is_read_with_gets(tmp_path):
    with run_emulator("--rate-limit", "off", "--no-graphql-queries", api_key=API_KEY) as emulator:
        seed(emulator, 600)
        run, calls = sync(emulator, tmp_path, 600)
        check_kept(emulator, 600)
        assert any("updated 600" in line for line in run.logs), run.logs
        refused = [c for c in calls if c["path"] == "/graphql"]
        gets = [c for c in calls if c["path"] == "/rest/companies" and "filter" in c["query"]]
        # A query answered 404 is remembered (batches asking at once each get their 404, at most one each);
        # every batch is then read with the several GETs its keys need.
        assert 1 <= len(refused) <= 3 and all(c["status"] == 404 for c in refused)
        assert len(gets) >= 3 * 3, record_calls(calls)
        emulator.check_no_internal_errors()


def test_graphql_reads_page_through_a_server_answering_60_a_page(tmp_path):
    # The v1.3 line caps a page at QUERY_MAX_RECORDS (60): a batch's read takes several pages, all followed.
    with run_emulator("--rate-limit", "off", "--twenty-version", "v1.3", api_key=API_KEY) as emulator:
        seed(emulator, 200)
        run, calls = sync(emulator, tmp_path, 200)
        check_kept(emulator, 200)
        pages = [c for c in calls if c["path"] == "/graphql" and c.get("root_field") == "companies"]
        assert len(pages) >= 4, record_calls(calls)
        emulator.check_no_internal_errors()
