"""--twenty-version v2: what the v2 line answers where links depend on it (issue 18 §1). The expected answers are
the ones seen on a real v2-line server built from the v2 snapshot (docs/emulator.md says which were checked
there and which follow the snapshot's source only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from emulator_client import Client

from twenty_emulator.testing import run_emulator

# The query the connector sends (destination_twenty/twenty/client.py), which the real v2 server answered.
RELATIONS = (
    "query ConnectorRelationTargets($after: ConnectionCursor) { objects(paging: {first: 1000, after: $after}) "
    "{ pageInfo { hasNextPage endCursor } edges { node { nameSingular namePlural "
    "fields(paging: {first: 1000}) { edges { node { name type "
    "relation { type targetObjectMetadata { nameSingular namePlural } targetFieldMetadata { name } } "
    "morphRelations { type targetObjectMetadata { nameSingular namePlural } } } } } } } } }"
)


@pytest.fixture(scope="module")
def v2_server() -> Iterator:
    with run_emulator("--rate-limit", "off", twenty_version="v2") as emu:
        yield emu


@pytest.fixture
def v2(v2_server) -> Iterator[Client]:
    v2_server.reset(metadata=True)
    client = Client(v2_server)
    yield client
    client.session.close()


def listing(client: Client, query: str = "") -> dict:
    response = client.get("/rest/metadata/objects" + query)
    assert response.status_code == 200, response.text
    return response.json()


def fields_of(client: Client, plural: str) -> dict[str, dict]:
    (obj,) = [o for o in listing(client, "?limit=200")["data"] if o["namePlural"] == plural]
    return {f["name"]: f for f in obj["fields"]}


def metadata(client: Client, query: str, **variables) -> requests.Response:
    return client.post("/metadata", json={"query": query, "variables": variables})


def described(client: Client) -> dict[str, dict[str, dict]]:
    answer = metadata(client, RELATIONS, after=None)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    nodes = [e["node"] for e in answer.json()["data"]["objects"]["edges"]]
    return {n["namePlural"]: {e["node"]["name"]: e["node"] for e in n["fields"]["edges"]} for n in nodes}


def add_objects(client: Client, count: int) -> None:
    for n in range(count):
        body = {
            "nameSingular": f"thing{n}",
            "namePlural": f"things{n}",
            "labelSingular": "T",
            "labelPlural": "Ts",
        }
        assert client.post("/rest/metadata/objects", json=body).status_code == 201


def test_the_listing_is_a_list_with_page_info_and_a_total(v2):
    body = listing(v2)
    assert set(body) == {"data", "pageInfo", "totalCount"}
    ids = [o["id"] for o in body["data"]]
    assert ids == sorted(ids, reverse=True)  # by id, descending; the cursors are plain ids
    assert body["pageInfo"] == {"hasNextPage": False, "startCursor": ids[0], "endCursor": ids[-1]}
    assert body["totalCount"] == len(ids)
    assert all("isCustom" not in o for o in body["data"])


def test_the_listing_pages_60_by_default_and_200_at_most(v2):
    add_objects(v2, 60)
    first = listing(v2)
    assert (len(first["data"]), first["pageInfo"]["hasNextPage"], first["totalCount"]) == (60, True, 73)
    rest = listing(v2, f"?limit=200&starting_after={first['pageInfo']['endCursor']}")
    assert (len(rest["data"]), rest["pageInfo"]["hasNextPage"]) == (13, False)
    everything = {o["id"] for o in first["data"]} | {o["id"] for o in rest["data"]}
    assert len(everything) == 73 and len(listing(v2, "?limit=500")["data"]) == 73
    back = listing(v2, f"?limit=5&ending_before={rest['pageInfo']['startCursor']}")
    assert [o["id"] for o in back["data"]] == [o["id"] for o in first["data"]][-5:]
    bad = v2.get("/rest/metadata/objects?limit=many")
    assert (bad.status_code, bad.json()) == (
        400,
        {
            "statusCode": 400,
            "error": "Error",
            "messages": ["limit 'many' is invalid. Should be an integer"],
            "code": "INVALID_LIMIT_QUERY_PARAM",
        },
    )
    both = v2.get("/rest/metadata/objects?starting_after=a&ending_before=b")
    assert both.status_code == 400


def test_relation_fields_carry_only_settings(v2):
    person = fields_of(v2, "people")
    assert "relation" not in person["company"]
    assert person["company"]["settings"] == {
        "onDelete": "SET_NULL",
        "relationType": "MANY_TO_ONE",
        "joinColumnName": "companyId",
    }
    assert person["noteTargets"]["settings"] == {"relationType": "ONE_TO_MANY"}
    assert person["emails"]["isUnique"] is True and person["jobTitle"]["isUnique"] is False
    assert fields_of(v2, "companies")["domainName"]["isUnique"] is True
    target = fields_of(v2, "noteTargets")
    assert target["targetPerson"]["type"] == "MORPH_RELATION" and target["targetPerson"]["morphId"]
    assert target["targetPerson"]["settings"] == {
        "onDelete": "CASCADE",
        "relationType": "MANY_TO_ONE",
        "joinColumnName": "targetPersonId",
    }
    assert target["note"]["type"] == "RELATION" and target["note"]["settings"]["joinColumnName"] == "noteId"
    assert "person" not in target


def test_graphql_metadata_names_relation_targets_and_morph_groups(v2):
    objects = described(v2)
    company = objects["people"]["company"]
    assert company["relation"] == {
        "type": "MANY_TO_ONE",
        "targetObjectMetadata": {"nameSingular": "company", "namePlural": "companies"},
        "targetFieldMetadata": {"name": "people"},
    }
    assert company["morphRelations"] is None
    # The inverse of a morph field names the morph group, as seen: person.noteTargets → noteTarget.target.
    assert objects["people"]["noteTargets"]["relation"]["targetFieldMetadata"] == {"name": "target"}
    person = objects["noteTargets"]["targetPerson"]
    assert person["relation"] is None
    targets = [m["targetObjectMetadata"]["nameSingular"] for m in person["morphRelations"]]
    assert targets[0] == "person" and {"company", "opportunity"} <= set(targets)
    assert [
        m["targetObjectMetadata"]["nameSingular"]
        for m in objects["taskTargets"]["targetCompany"]["morphRelations"]
    ][0] == "company"
    assert objects["notes"]["title"]["relation"] is None


def test_graphql_metadata_pages_10_by_default(v2):
    page = metadata(v2, "{ objects { pageInfo { hasNextPage endCursor } edges { node { namePlural } } } }")
    first = page.json()["data"]["objects"]
    assert len(first["edges"]) == 10 and first["pageInfo"]["hasNextPage"] is True
    query = "query Next($after: ConnectionCursor) { objects(paging: {first: 10, after: $after}) { edges { node { namePlural } } } }"
    rest = metadata(v2, query, after=first["pageInfo"]["endCursor"]).json()["data"]["objects"]["edges"]
    assert len(rest) == 3
    names = {e["node"]["namePlural"] for e in first["edges"] + rest}
    assert len(names) == 13 and "people" in names


def test_graphql_metadata_refuses_what_it_cannot_answer_and_checks_the_token(v2):
    unknown = metadata(v2, "{ objects { edges { node { nope } } } }")
    assert unknown.status_code == 200
    assert unknown.json() == {"errors": [{"message": 'Cannot query field "nope" on type "Object".'}]}
    wrong = requests.post(
        v2.emu.url + "/metadata",
        json={"query": RELATIONS},
        headers={"Authorization": "Bearer wrong-key"},
        timeout=10,
    )
    assert wrong.status_code == 200
    (error,) = wrong.json()["errors"]
    assert (error["message"], error["extensions"]["code"]) == ("Token invalid.", "UNAUTHENTICATED")


def test_note_targets_are_written_through_their_morph_join_columns(v2):
    person = v2.post("/rest/people", json={}).json()["data"]["createPerson"]["id"]
    note = v2.post("/rest/notes", json={"title": "n"}).json()["data"]["createNote"]["id"]
    link = v2.post("/rest/batch/noteTargets?upsert=true", json=[{"noteId": note, "targetPersonId": person}])
    assert link.status_code == 201
    row = link.json()["data"]["createNoteTargets"][0]
    assert (row["noteId"], row["targetPersonId"], row["targetCompanyId"]) == (note, person, None)
    old = v2.post("/rest/noteTargets", json={"noteId": note, "personId": person})
    assert old.status_code == 400


def test_rest_upsert_is_honoured_and_a_batch_holds_200(v2):
    first = v2.post("/rest/batch/people?upsert=true", json=[{"emails": {"primaryEmail": "a@v2.example"}}])
    again = v2.post(
        "/rest/batch/people?upsert=true", json=[{"emails": {"primaryEmail": "a@v2.example"}, "jobTitle": "x"}]
    )
    assert first.status_code == again.status_code == 201
    assert [p["jobTitle"] for p in v2.emu.records("people")] == ["x"]
    too_many = v2.post("/rest/batch/people", json=[{} for _ in range(201)])
    assert (too_many.status_code, too_many.json()["messages"]) == (
        400,
        ["Maximum number of records to upsert is 200."],
    )


def test_every_record_call_is_throttled_without_headers_and_metadata_is_not():
    with run_emulator("--rate-limit", "2/60", twenty_version="v2") as emu:
        client = Client(emu)
        answers = [client.get("/rest/people"), client.post("/rest/batch/people", json=[{}])]
        refused = client.get("/rest/people")
        assert [a.status_code for a in answers] == [200, 201] and refused.status_code == 429
        assert refused.json() == {
            "statusCode": 429,
            "error": "HttpException",
            "messages": ["Limit reached (2 tokens per 60000 ms)"],
        }
        assert not any(h.lower().startswith(("retry-after", "x-ratelimit")) for h in refused.headers)
        graphql = client.post("/graphql", json={"query": "mutation { createPeople(data: [{}]) { id } }"})
        assert graphql.json()["errors"][0]["message"] == "Limit reached (2 tokens per 60000 ms)"
        # The metadata APIs do not call the throttler (it sits in the record query runners).
        assert client.get("/rest/metadata/objects").status_code == 200
        assert "errors" not in metadata(client, RELATIONS, after=None).json()
