"""Links by a key the warehouse has (issue 11): people at companies, notes on the records they are about."""

import requests

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state


def post(emulator, plural, body):
    response = requests.post(
        f"{emulator.url}/rest/{plural}",
        json=body,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return next(iter(response.json()["data"].values()))["id"]


def companies(emulator):
    return {
        "acme": post(
            emulator, "companies", {"name": "Acme", "domainName": {"primaryLinkUrl": "https://acme.example"}}
        ),
        "twin1": post(
            emulator, "companies", {"name": "Twin", "domainName": {"primaryLinkUrl": "https://t1.example"}}
        ),
        "twin2": post(
            emulator, "companies", {"name": "Twin", "domainName": {"primaryLinkUrl": "https://t2.example"}}
        ),
    }


def company_reads(emulator):
    return [r for r in emulator.requests() if r["method"] == "GET" and r["path"] == "/rest/companies"]


def test_people_are_linked_to_companies_by_domain(emulator, tmp_path):
    ids = companies(emulator)
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
        {"column": "company_name", "field": "company.name"},
    ]
    rows = [{"email": f"p{n}@rel.example", "domain": "HTTPS://Acme.example/"} for n in range(50)]
    rows += [
        {"email": "lost@rel.example", "domain": "https://nope.example"},
        {"email": "twin@rel.example", "company_name": "Twin"},
    ]
    messages = [record("people", row) for row in rows] + [state("people", 1, 1)]
    config = config_for(emulator, "people", column_mapping=mapping, partial_success=True)
    run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert run.returncode == 0, run.stdout
    people = {p["emails"]["primaryEmail"]: p for p in emulator.records("people")}
    assert len(people) == 50 and all(p["companyId"] == ids["acme"] for p in people.values())
    reasons = {e["message"].split(" was rejected")[0]: e["message"] for e in run.errors}
    assert (
        "no company with domainName.primaryLinkUrl https://nope.example"
        in reasons["Record 51 of stream 'people'"]
    )
    twin = reasons["Record 52 of stream 'people'"]
    assert "ambiguous" in twin and ids["twin1"] in twin and ids["twin2"] in twin
    assert any("name is not unique on companies" in line for line in run.logs)
    assert len(company_reads(emulator)) <= 2  # a small target object is read whole once, not per record


def test_a_missing_company_can_leave_the_link_unset(emulator, tmp_path):
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "domain", "field": "company.domainName.primaryLinkUrl", "if_not_found": "leave_unset"},
    ]
    messages = [record("people", {"email": "solo@rel.example", "domain": "https://nope.example"})]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping),
        catalog_for("people"),
        messages,
    )
    assert run.returncode == 0, run.stdout
    (person,) = emulator.records("people")
    assert person["companyId"] is None
    warnings = [m["log"]["message"] for m in run.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert any("without a link" in w and "https://nope.example" in w for w in warnings)


def test_notes_are_attached_to_people_and_companies_once(emulator, tmp_path):
    ids = companies(emulator)
    person = post(emulator, "people", {"emails": {"primaryEmail": "ada@rel.example"}})
    mapping = [
        {"column": "title", "field": "title"},
        {"column": "who", "field": "targets.person.emails.primaryEmail"},
        {"column": "where", "field": "targets.company.domainName.primaryLinkUrl"},
    ]
    messages = [
        record("memos", {"title": "Call", "who": "ADA@rel.example", "where": "https://acme.example"}),
        record("memos", {"title": "Email", "who": "ada@rel.example"}),
        state("memos", 2, 1),
    ]
    config = config_for(emulator, "notes", column_mapping=mapping)
    catalog = catalog_for("memos", primary_key=[["title"]])
    for _ in range(2):  # a re-sync upserts the same target rows
        run = run_connector(["write"], tmp_path, config, catalog, messages)
        assert run.returncode == 0, run.stdout
        assert any("3 note/task targets linked" in line for line in run.logs)
    notes = {n["title"]: n["id"] for n in emulator.records("notes")}
    targets = sorted(
        (t["noteId"], t.get("personId") or "", t.get("companyId") or "")
        for t in emulator.records("noteTargets")
        if not t.get("deletedAt")
    )
    assert targets == sorted(
        [(notes["Call"], person, ""), (notes["Call"], "", ids["acme"]), (notes["Email"], person, "")]
    )


def test_check_names_an_unknown_field_on_the_target(emulator, tmp_path):
    mapping = [{"column": "domain", "field": "company.domian.primaryLinkUrl"}]
    run = run_connector(["check"], tmp_path, config_for(emulator, "people", column_mapping=mapping))
    assert run.status["status"] == "FAILED"
    assert "on companies" in run.status["message"] and "domainName" in run.status["message"]


def test_keys_with_commas_quotes_and_brackets_find_their_company(emulator, tmp_path):
    """Past the size read whole, lookups go through filters: Twenty splits an `in` list on every comma, so such
    keys are looked up alone, quoted (the emulator parses filters as Twenty does)."""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    filler = [
        {"name": f"Filler {n}", "domainName": {"primaryLinkUrl": f"https://f{n}.example"}}
        for n in range(2001)
    ]
    for start in range(0, len(filler), 200):
        response = requests.post(
            f"{emulator.url}/rest/batch/companies",
            json=filler[start : start + 200],
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 201
    odd = ["Smith, Jones & Co", 'Bob\'s "Best"', "Lab [x] (UK)"]
    ids = {name: post(emulator, "companies", {"name": name}) for name in odd}
    mapping = [
        {"column": "email", "field": "emails.primaryEmail"},
        {"column": "employer", "field": "company.name"},
    ]
    rows = [{"email": f"o{n}@rel.example", "employer": name} for n, name in enumerate(odd)]
    rows.append({"email": "plain@rel.example", "employer": "Filler 7"})
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping),
        catalog_for("people"),
        [record("people", row) for row in rows],
    )
    assert run.returncode == 0, run.stdout
    linked = {p["emails"]["primaryEmail"]: p["companyId"] for p in emulator.records("people")}
    assert [linked[f"o{n}@rel.example"] for n in range(3)] == [ids[name] for name in odd]
    assert linked["plain@rel.example"] is not None


def test_opportunities_get_their_company_and_point_of_contact(emulator, tmp_path):
    ids = companies(emulator)
    ada = post(emulator, "people", {"emails": {"primaryEmail": "ada@rel.example"}})
    mapping = [
        {"column": "deal", "field": "name"},
        {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
        {"column": "contact", "field": "pointOfContact.emails.primaryEmail"},
    ]
    rows = [{"deal": "Big", "domain": "https://acme.example/", "contact": "Ada@Rel.example"}]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "opportunities", column_mapping=mapping),
        catalog_for("deals"),
        [record("deals", row) for row in rows],
    )
    assert run.returncode == 0, run.stdout
    (deal,) = emulator.records("opportunities")
    assert (deal["companyId"], deal["pointOfContactId"]) == (ids["acme"], ada)


def test_tasks_link_people_companies_and_opportunities_and_a_missing_target_writes_nothing(
    emulator, tmp_path
):
    ids = companies(emulator)
    ada = post(emulator, "people", {"emails": {"primaryEmail": "ada@rel.example"}})
    deal = post(emulator, "opportunities", {"name": "Big"})
    mapping = [
        {"column": "title", "field": "title"},
        {"column": "who", "field": "targets.person.emails.primaryEmail"},
        {"column": "where", "field": "targets.company.domainName.primaryLinkUrl"},
        {"column": "deal", "field": "targets.opportunity.id"},
    ]
    rows = [
        {"title": "Follow up", "who": "ada@rel.example", "where": "https://acme.example", "deal": deal},
        {"title": "Orphan", "who": "nobody@rel.example"},
    ]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "tasks", column_mapping=mapping, partial_success=True),
        catalog_for("todo", primary_key=[["title"]]),
        [record("todo", row) for row in rows],
    )
    assert run.returncode == 0, run.stdout
    assert [t["title"] for t in emulator.records("tasks")] == [
        "Follow up"
    ]  # no task without its promised links
    (error,) = run.errors
    assert (
        "Record 2 of stream 'todo'" in error["message"]
        and "no person with emails.primaryEmail" in error["message"]
    )
    links = {
        (t.get("personId"), t.get("companyId"), t.get("opportunityId"))
        for t in emulator.records("taskTargets")
    }
    assert links == {(ada, None, None), (None, ids["acme"], None), (None, None, deal)}


def test_a_sync_killed_and_resumed_leaves_one_target_per_link(emulator, tmp_path):
    from reliability.scenarios import write as write_streamed

    person = post(emulator, "people", {"emails": {"primaryEmail": "ada@rel.example"}})
    mapping = [
        {"column": "title", "field": "title"},
        {"column": "who", "field": "targets.person.emails.primaryEmail"},
    ]
    lines = []
    for n in range(600):
        lines.append(json_line(record("memos", {"title": f"Note {n}", "who": "ada@rel.example"})))
        if n % 100 == 99:
            lines.append(json_line(state("memos", n + 1, n + 1)))
    config = config_for(emulator, "notes", column_mapping=mapping, batch_size=50, api_key=emulator.api_key)
    catalog = catalog_for("memos", primary_key=[["title"]])
    killed = write_streamed(config, catalog, lines, kill_after_states=2)
    assert killed.returncode == -9
    last = killed.states[-1]["id"]
    resumed = write_streamed(config, catalog, lines[lines.index(json_line(state("memos", last, last))) + 1 :])
    assert resumed.returncode == 0
    notes = {n["id"] for n in emulator.records("notes")}
    targets = [t for t in emulator.records("noteTargets") if not t.get("deletedAt")]
    assert len(notes) == 600 and len(targets) == 600
    assert {t["noteId"] for t in targets} == notes and {t["personId"] for t in targets} == {person}


def json_line(message):
    import json

    return json.dumps(message) + "\n"
