"""Upsert matching, partial updates, deletes, and GET filters/pagination, as the real server behaves."""

from __future__ import annotations

from emulator_client import Client


def create(client: Client, plural: str, body: dict, upsert: bool = False) -> dict:
    resp = client.post(f"/rest/{plural}" + ("?upsert=true" if upsert else ""), json=body)
    assert resp.status_code == 201, resp.text
    return next(iter(resp.json()["data"].values()))


def test_upsert_matches_email_case_insensitively_and_merges(client: Client):
    ada = create(
        client,
        "people",
        {
            "name": {"firstName": "Ada", "lastName": "Lovelace"},
            "emails": {"primaryEmail": "ada@x.org", "additionalEmails": ["c@x.org"]},
            "city": "London",
        },
    )
    again = create(
        client,
        "people",
        {"name": {"firstName": "Augusta"}, "emails": {"primaryEmail": "ADA@X.ORG"}},
        upsert=True,
    )
    assert again["id"] == ada["id"]
    assert again["name"] == {"firstName": "Augusta", "lastName": "Lovelace"}  # FULL_NAME merges
    assert again["emails"]["additionalEmails"] == ["c@x.org"]  # not sent: kept
    assert again["city"] == "London"
    assert again["createdAt"] == ada["createdAt"] and again["updatedAt"] > again["createdAt"]
    assert len(client.emu.records("people")) == 1


def test_upsert_by_id_and_by_domain(client: Client):
    ada = create(client, "people", {"jobTitle": "a"})
    assert create(client, "people", {"id": ada["id"], "city": "Paris"}, upsert=True)["id"] == ada["id"]
    acme = create(
        client, "companies", {"name": "Acme", "domainName": {"primaryLinkUrl": "https://acme.example"}}
    )
    updated = create(
        client,
        "companies",
        {"domainName": {"primaryLinkUrl": "https://ACME.example/"}, "employees": 3},
        upsert=True,
    )
    assert updated["id"] == acme["id"] and updated["name"] == "Acme" and updated["employees"] == 3
    # A bare domain is another key: no match, a new company.
    assert (
        create(client, "companies", {"domainName": {"primaryLinkUrl": "acme.example"}}, upsert=True)["id"]
        != acme["id"]
    )


def test_upsert_without_unique_key_inserts(client: Client):
    create(client, "opportunities", {"name": "Deal"}, upsert=True)
    create(client, "opportunities", {"name": "Deal"}, upsert=True)
    assert len(client.emu.records("opportunities")) == 2


def test_batch_upsert_updates_first_then_inserts(client: Client):
    ada = create(client, "people", {"emails": {"primaryEmail": "ada@x.org"}})
    resp = client.post(
        "/rest/batch/people?upsert=true",
        json=[
            {"emails": {"primaryEmail": "grace@x.org"}},
            {"emails": {"primaryEmail": "ada@x.org"}, "jobTitle": "P"},
        ],
    )
    people = resp.json()["data"]["createPeople"]
    assert resp.status_code == 201
    assert [p["emails"]["primaryEmail"] for p in people] == ["ada@x.org", "grace@x.org"]
    assert people[0]["id"] == ada["id"] and people[0]["createdAt"] != people[0]["updatedAt"]
    assert people[1]["createdAt"] == people[1]["updatedAt"]


def test_upsert_revives_soft_deleted(client: Client):
    laz = create(client, "people", {"emails": {"primaryEmail": "laz@x.org"}, "jobTitle": "Friend"})
    deleted = client.delete(f"/rest/people/{laz['id']}?soft_delete=true").json()["data"]["deletePerson"]
    assert deleted["deletedAt"] is not None
    assert client.get(f"/rest/people/{laz['id']}").status_code == 404
    back = create(
        client, "people", {"emails": {"primaryEmail": "laz@x.org"}, "jobTitle": "Returned"}, upsert=True
    )
    assert back["id"] == laz["id"] and back["deletedAt"] is None and back["jobTitle"] == "Returned"


def test_upsert_conflict_between_id_and_email(client: Client):
    castor = create(client, "people", {"emails": {"primaryEmail": "castor@x.org"}})
    create(client, "people", {"emails": {"primaryEmail": "pollux@x.org"}})
    resp = client.post(
        "/rest/people?upsert=true", json={"id": castor["id"], "emails": {"primaryEmail": "pollux@x.org"}}
    )
    assert resp.status_code == 400
    assert resp.json()["messages"] == [
        f"Multiple records found with the same unique field values for id: {castor['id']}, "
        "emails.primaryEmail: pollux@x.org. Cannot determine which record to update."
    ]


def test_unique_custom_field_is_an_upsert_key(client: Client):
    obj = client.post(
        "/rest/metadata/objects",
        json={
            "nameSingular": "gizmo",
            "namePlural": "gizmos",
            "labelSingular": "Gizmo",
            "labelPlural": "Gizmos",
        },
    ).json()["data"]["createOneObject"]
    resp = client.post(
        "/rest/metadata/fields",
        json={"objectMetadataId": obj["id"], "type": "TEXT", "name": "sku", "label": "SKU", "isUnique": True},
    )
    assert resp.status_code == 201
    first = create(client, "gizmos", {"sku": "A-1", "name": "one"})
    second = create(client, "gizmos", {"sku": "A-1", "name": "renamed"}, upsert=True)
    assert second["id"] == first["id"] and second["name"] == "renamed"
    assert client.post("/rest/gizmos", json={"sku": "A-1"}).json()["messages"] == [
        "A duplicate entry was detected"
    ]


def test_partial_composite_updates(client: Client):
    p = create(
        client,
        "people",
        {
            "emails": {"primaryEmail": "e@x.org", "additionalEmails": ["f@x.org"]},
            "linkedinLink": {
                "primaryLinkUrl": "https://l.example/p",
                "primaryLinkLabel": "L",
                "secondaryLinks": [{"label": "b", "url": "https://b.example"}],
            },
        },
    )
    patched = client.patch(
        f"/rest/people/{p['id']}", json={"linkedinLink": {"primaryLinkLabel": "Profile"}}
    ).json()["data"]["updatePerson"]
    assert patched["linkedinLink"] == {"primaryLinkLabel": "", "primaryLinkUrl": "", "secondaryLinks": []}
    patched = client.patch(
        f"/rest/people/{p['id']}", json={"emails": {"additionalEmails": ["g@x.org"]}}
    ).json()["data"]["updatePerson"]
    assert patched["emails"] == {"primaryEmail": "", "additionalEmails": ["g@x.org"]}
    c = create(client, "companies", {"address": {"addressCity": "Paris", "addressStreet1": "1 rue"}})
    c2 = client.patch(f"/rest/companies/{c['id']}", json={"address": {"addressCity": "Lyon"}}).json()["data"][
        "updateCompany"
    ]
    assert c2["address"]["addressStreet1"] == "1 rue" and c2["address"]["addressCity"] == "Lyon"


def test_patch_and_delete_errors(client: Client):
    missing = "00000000-0000-4000-8000-000000000404"
    nf = {"statusCode": 404, "error": "NotFoundException", "messages": ["Record not found"]}
    assert client.patch(f"/rest/people/{missing}", json={"city": "x"}).json() == nf
    assert client.get(f"/rest/people/{missing}").json() == nf
    assert client.delete(f"/rest/people/{missing}").json() == nf


def test_hard_delete_by_default_and_set_null(client: Client):
    acme = create(client, "companies", {"name": "Acme"})
    ada = create(client, "people", {"companyId": acme["id"]})
    resp = client.delete(f"/rest/companies/{acme['id']}")
    assert resp.status_code == 200 and resp.json()["data"]["deleteCompany"]["id"] == acme["id"]
    assert client.emu.records("companies") == []
    assert client.get(f"/rest/people/{ada['id']}").json()["data"]["person"]["companyId"] is None


def test_filters_and_ordering(client: Client):
    ids = {}
    for i, (first, job, employees) in enumerate([("Ann", "B", 5), ("bob", "A", None), ("Cid", "C", 50)]):
        ids[first] = create(
            client,
            "people",
            {
                "name": {"firstName": first, "lastName": "F"},
                "jobTitle": job,
                "emails": {"primaryEmail": f"p{i}@x.org"},
            },
        )["id"]
        create(client, "companies", {"name": first, "employees": employees})

    def names(query: str, plural: str = "people") -> list[str]:
        resp = client.get(f"/rest/{plural}?{query}")
        assert resp.status_code == 200, resp.text
        records = resp.json()["data"][plural]
        return [r["name"]["firstName"] if plural == "people" else r["name"] for r in records]

    assert names("filter=name.firstName[eq]:Ann") == ["Ann"]
    assert names(f"filter=id[in]:[{ids['Ann']},{ids['Cid']}]&order_by=name.firstName[DescNullsLast]") == [
        "Cid",
        "Ann",
    ]
    assert names("filter=name.firstName[ilike]:%25B%25") == ["bob"]
    assert names("filter=name.firstName[like]:%25B%25") == []
    assert names("filter=or(jobTitle[eq]:A,jobTitle[eq]:C)&order_by=jobTitle") == ["bob", "Cid"]
    assert names("filter=not(jobTitle[eq]:A)&order_by=jobTitle[AscNullsFirst]") == ["Ann", "Cid"]
    assert names('filter=name.firstName[neq]:Ann,jobTitle[in]:["A","B"]') == ["bob"]
    assert names("filter=employees[gte]:10", "companies") == ["Cid"]
    assert names("filter=employees[is]:NULL", "companies") == ["bob"]
    assert names("filter=employees[is]:NOT_NULL&order_by=employees[DescNullsFirst]", "companies") == [
        "Cid",
        "Ann",
    ]
    assert names("filter=name[startsWith]:A", "companies") == ["Ann"]


def test_soft_deleted_hidden_unless_filter_mentions_deleted_at(client: Client):
    p = create(client, "people", {"jobTitle": "gone"})
    client.delete(f"/rest/people/{p['id']}?soft_delete=true")
    assert client.get("/rest/people").json()["totalCount"] == 0
    listed = client.get("/rest/people?filter=deletedAt[is]:NOT_NULL").json()
    assert [r["id"] for r in listed["data"]["people"]] == [p["id"]]


def test_pagination_with_cursors(client: Client):
    client.post(
        "/rest/batch/people",
        json=[{"name": {"firstName": f"P{i}", "lastName": "Pager"}, "jobTitle": f"J{i}"} for i in range(5)],
    )
    base = "filter=name.lastName[eq]:Pager&order_by=jobTitle&limit=2"
    page1 = client.get(f"/rest/people?{base}").json()
    assert [r["jobTitle"] for r in page1["data"]["people"]] == ["J0", "J1"]
    assert page1["totalCount"] == 5 and page1["pageInfo"]["hasNextPage"] is True
    assert page1["pageInfo"]["hasPreviousPage"] is False
    page2 = client.get(f"/rest/people?{base}&starting_after={page1['pageInfo']['endCursor']}").json()
    assert [r["jobTitle"] for r in page2["data"]["people"]] == ["J2", "J3"]
    assert page2["pageInfo"]["hasPreviousPage"] is False  # as recorded: forward paging never says so
    back = client.get(f"/rest/people?{base}&ending_before={page2['pageInfo']['startCursor']}").json()
    assert [r["jobTitle"] for r in back["data"]["people"]] == ["J0", "J1"]
    page3 = client.get(f"/rest/people?{base}&starting_after={page2['pageInfo']['endCursor']}").json()
    assert [r["jobTitle"] for r in page3["data"]["people"]] == ["J4"] and page3["pageInfo"][
        "hasNextPage"
    ] is False


def test_limits_and_depth(client: Client):
    client.post("/rest/batch/companies", json=[{"name": f"c{i}"} for i in range(200)])
    client.post("/rest/batch/companies", json=[{"name": f"d{i}"} for i in range(10)])
    assert len(client.get("/rest/companies").json()["data"]["companies"]) == 60
    assert len(client.get("/rest/companies?limit=500").json()["data"]["companies"]) == 200
    assert client.get("/rest/companies?limit=abc").json()["messages"] == [
        "limit 'abc' is invalid. Should be an integer"
    ]
    assert client.get("/rest/companies?depth=2").json()["messages"] == [
        "'depth=2' parameter invalid. Allowed values are 0, 1"
    ]


def test_workspace_member_exists(client: Client):
    members = client.get("/rest/workspaceMembers").json()["data"]["workspaceMembers"]
    assert len(members) == 1
    task = create(client, "tasks", {"assigneeId": members[0]["id"]})
    assert task["assigneeId"] == members[0]["id"]


def test_an_in_list_splits_on_every_comma_as_twenty_does():
    """format-field-values.util.ts splits `[in]:[...]` on each comma, quotes or not; a lone `[eq]` reads the
    whole value after `]:`, less one pair of surrounding quotes (parse-base-filter.util.ts)."""
    import requests

    from twenty_emulator.testing import run_emulator

    with run_emulator("--rate-limit", "off", api_key="filter-test-key-0123") as emu:
        headers = {"Authorization": "Bearer filter-test-key-0123"}
        for name in ("a,b", "a", 'say "hi"'):
            assert requests.post(
                f"{emu.url}/rest/companies", json={"name": name}, headers=headers, timeout=10
            ).ok

        def names(expression):
            body = requests.get(
                f"{emu.url}/rest/companies", params={"filter": expression}, headers=headers, timeout=10
            )
            return sorted(c["name"] for c in body.json()["data"]["companies"])

        assert names('name[in]:["a,b"]') == []  # split into '"a' and 'b"': neither matches
        assert names("name[in]:[a,b]") == ["a"]
        assert names('name[eq]:"a,b"') == ["a,b"]
        assert names('name[eq]:"say "hi""') == ['say "hi"']
