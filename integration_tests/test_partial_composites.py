"""Twenty replaces a LINKS field whole (and blanks primaryEmail when only additionalEmails is sent). The seed's
promise is that what a mapping does not send survives, so the connector completes such writes from what is stored."""

import requests

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state


def seed(emulator, plural, body):
    response = requests.post(
        f"{emulator.url}/rest/batch/{plural}",
        json=body,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return next(iter(response.json()["data"].values()))


def test_upserting_a_link_url_keeps_its_stored_label_and_secondary_links(emulator, tmp_path):
    seed(
        emulator,
        "people",
        [
            {
                "emails": {"primaryEmail": "ada@keep.example"},
                "linkedinLink": {
                    "primaryLinkUrl": "https://linkedin.example/in/ada-old",
                    "primaryLinkLabel": "Ada on LinkedIn",
                    "secondaryLinks": [{"url": "https://ada.example", "label": "site"}],
                },
            }
        ],
    )
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "linkedin", "field": "linkedinLink.primaryLinkUrl"},
    ]
    rows = [
        {"email": "ada@keep.example", "linkedin": "https://linkedin.example/in/ada"},
        {"email": "new@keep.example", "linkedin": "https://linkedin.example/in/new"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping),
        catalog_for("people"),
        [record("people", r) for r in rows] + [state("people", 2)],
    )
    assert run.returncode == 0, run.stdout
    stored = {p["emails"]["primaryEmail"]: p["linkedinLink"] for p in emulator.records("people")}
    assert stored["ada@keep.example"] == {
        "primaryLinkUrl": "https://linkedin.example/in/ada",
        "primaryLinkLabel": "Ada on LinkedIn",
        "secondaryLinks": [{"url": "https://ada.example", "label": "site"}],
    }
    assert stored["new@keep.example"]["primaryLinkUrl"] == "https://linkedin.example/in/new"
    assert any("updated 1" in line and "created 1" in line for line in run.logs)


def test_a_company_upserted_on_its_domain_keeps_the_domains_label(emulator, tmp_path):
    seed(
        emulator,
        "companies",
        [
            {
                "name": "Acme",
                "domainName": {"primaryLinkUrl": "https://acme.example", "primaryLinkLabel": "Acme HQ"},
            }
        ],
    )
    mapping = [
        {"column": "domain", "field": "domainName.primaryLinkUrl"},
        {"column": "size", "field": "employees"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "companies", column_mapping=mapping),
        catalog_for("companies"),
        [record("companies", {"domain": "https://ACME.example/", "size": 12}), state("companies", 1)],
    )
    assert run.returncode == 0, run.stdout
    (acme,) = emulator.records("companies")
    assert acme["employees"] == 12
    assert acme["domainName"]["primaryLinkLabel"] == "Acme HQ"


def test_update_by_id_completes_from_the_read_it_already_makes(emulator, tmp_path):
    (person,) = seed(
        emulator,
        "people",
        [
            {
                "emails": {"primaryEmail": "grace@keep.example", "additionalEmails": ["g@old.example"]},
                "xLink": {"primaryLinkUrl": "https://x.example/grace", "primaryLinkLabel": "Grace on X"},
            }
        ],
    )
    mapping = [
        {"column": "twenty_id", "field": "id"},
        {"column": "also", "field": "emails.additionalEmails"},
        {"column": "x", "field": "xLink.primaryLinkUrl"},
    ]
    before = len(emulator.requests())
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping),
        catalog_for("people"),
        [
            record(
                "people",
                {"twenty_id": person["id"], "also": "g@new.example", "x": "https://x.example/hopper"},
            ),
            state("people", 1),
        ],
    )
    assert run.returncode == 0, run.stdout
    (stored,) = emulator.records("people")
    assert stored["emails"] == {"primaryEmail": "grace@keep.example", "additionalEmails": ["g@new.example"]}
    assert stored["xLink"]["primaryLinkLabel"] == "Grace on X"
    assert stored["xLink"]["primaryLinkUrl"] == "https://x.example/hopper"
    calls = [
        (r["method"], r["path"])
        for r in emulator.requests()[before:]
        if not r["path"].startswith("/rest/metadata")
    ]
    assert calls == [("GET", "/rest/people"), ("POST", "/rest/batch/people")]


def test_stored_labels_survive_for_domains_with_commas_and_quotes(emulator, tmp_path):
    # Such keys cannot stand in an `in` list or inside or() (Twenty splits both on commas and quotes): the read
    # of what is stored looks each up alone, and a miss there would wipe the label.
    domains = ["https://plain.example", "https://odd.example/a,b", 'https://quote.example/"it\'s",x']
    seed(
        emulator,
        "companies",
        [
            {"name": f"C{n}", "domainName": {"primaryLinkUrl": d, "primaryLinkLabel": f"label {n}"}}
            for n, d in enumerate(domains)
        ],
    )
    mapping = [
        {"column": "domain", "field": "domainName.primaryLinkUrl"},
        {"column": "size", "field": "employees"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "companies", column_mapping=mapping),
        catalog_for("companies"),
        [record("companies", {"domain": d, "size": n + 1}) for n, d in enumerate(domains)]
        + [state("companies", 3)],
    )
    assert run.returncode == 0, run.stdout
    stored = {c["name"]: c for c in emulator.records("companies")}
    assert len(stored) == 3
    for n in range(3):
        assert stored[f"C{n}"]["employees"] == n + 1
        assert stored[f"C{n}"]["domainName"]["primaryLinkLabel"] == f"label {n}"
