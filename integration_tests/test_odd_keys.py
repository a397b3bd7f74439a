"""Keys holding a bracket, a quote or a parenthesis (issue 19, item 9). Twenty's REST filter parser counts every
parenthesis of the filter, quoted or not (check-filter-query.util.ts), and splits and() / or() on commas while
toggling on brackets and quotes (parse-filter-content.util.ts): such a key cannot be quoted into a filter. The
batch read of stored LINKS, the dry run and relation lookups must still find the stored record, and only it."""

import pytest
import requests

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state

ODD_DOMAINS = [
    "https://c.example/'),or(name:'Victim",
    "https://c.example/a(b",
    "https://c.example/a)b",
    "https://c.example/[x",
    "https://c.example/x]",
    'https://c.example/say"hi',
    "https://c.example/it's,fine",
    "https://c.example/100%_sure",
]
MAPPING = [
    {"column": "domain", "field": "domainName.primaryLinkUrl"},
    {"column": "name", "field": "name"},
]


def seed(emulator, companies):
    response = requests.post(
        f"{emulator.url}/rest/batch/companies",
        json=companies,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_stored_links_with_odd_domains_are_found_and_kept(emulator, tmp_path):
    seed(
        emulator,
        [{"name": "Victim", "domainName": {"primaryLinkUrl": "https://victim.example"}}]
        + [
            {
                "name": f"old {i}",
                "domainName": {
                    "primaryLinkUrl": domain,
                    "primaryLinkLabel": f"label {i}",
                    "secondaryLinks": [{"url": f"https://second{i}.example", "label": "second"}],
                },
            }
            for i, domain in enumerate(ODD_DOMAINS)
        ],
    )
    rows = [{"domain": domain, "name": f"new {i}"} for i, domain in enumerate(ODD_DOMAINS)]
    messages = [record("companies", row) for row in rows] + [state("companies", 1)]
    config = config_for(emulator, "companies", column_mapping=MAPPING)
    run = run_connector(["write"], tmp_path, config, catalog_for("companies"), messages)
    assert run.returncode == 0, run.stdout
    assert any(f"created 0, updated {len(ODD_DOMAINS)}, rejected 0" in line for line in run.logs)
    stored = {c["domainName"]["primaryLinkUrl"]: c for c in emulator.records("companies")}
    assert stored["https://victim.example"]["name"] == "Victim"
    for i, domain in enumerate(ODD_DOMAINS):
        company = stored[domain]
        assert company["name"] == f"new {i}"
        # The partial write was completed from the stored record: its label and secondary links survive.
        assert company["domainName"]["primaryLinkLabel"] == f"label {i}"
        assert company["domainName"]["secondaryLinks"] == [
            {"url": f"https://second{i}.example", "label": "second"}
        ]


@pytest.mark.parametrize("domain", ODD_DOMAINS[:3])
def test_a_relation_to_a_company_with_an_odd_domain_links_it(emulator, tmp_path, domain):
    seed(
        emulator,
        [
            {"name": "Victim", "domainName": {"primaryLinkUrl": "https://victim.example"}},
            {"name": "Odd", "domainName": {"primaryLinkUrl": domain}},
        ],
    )
    odd = next(c["id"] for c in emulator.records("companies") if c["name"] == "Odd")
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
    ]
    messages = [record("people", {"email": "p@odd.example", "domain": domain}), state("people", 1)]
    config = config_for(emulator, "people", column_mapping=mapping)
    run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert run.returncode == 0, run.stdout
    (person,) = emulator.records("people")
    assert person["companyId"] == odd


def test_a_dry_run_predicts_updates_of_records_with_odd_domains(emulator, tmp_path):
    seed(
        emulator,
        [{"name": f"old {i}", "domainName": {"primaryLinkUrl": d}} for i, d in enumerate(ODD_DOMAINS)],
    )
    rows = [{"domain": domain, "name": "new"} for domain in ODD_DOMAINS]
    messages = [record("companies", row) for row in rows] + [state("companies", 1)]
    config = config_for(emulator, "companies", column_mapping=MAPPING, dry_run=True)
    run = run_connector(["write"], tmp_path, config, catalog_for("companies"), messages)
    assert run.returncode == 0, run.stdout
    assert any(f"would create 0, would update {len(ODD_DOMAINS)}," in line for line in run.logs), run.logs[-1]
