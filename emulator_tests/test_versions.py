"""--twenty-version: the older (v1.3) and newer (v1.20) servers, where a client's behaviour depends on them
(issue 13). The default (current) is pinned by the recording in test_conformance.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from emulator_client import Client

from twenty_emulator.testing import run_emulator

MISSING_ID = "00000000-0000-4000-8000-000000000000"
UPSERT_PEOPLE = """
mutation Sync($data: [PersonCreateInput!]!, $upsert: Boolean) {
  createPeople(data: $data, upsert: $upsert) { id jobTitle emails { primaryEmail } __typename }
}
"""


def message(response: requests.Response) -> str:
    body = response.json()
    return body["messages"][0] if "messages" in body else body["errors"][0]["message"]


def people(client: Client) -> list[dict]:
    return client.emu.records("people", include_deleted=False)


@pytest.fixture(scope="module")
def old_server() -> Iterator:
    # 2 tokens per minute: REST must ignore it; /graphql spends it (each test starts with a full bucket).
    with run_emulator("--rate-limit", "2/60", twenty_version="v1.3") as emu:
        yield emu


@pytest.fixture
def old(old_server) -> Iterator[Client]:
    old_server.reset()
    client = Client(old_server)
    yield client
    client.session.close()


@pytest.fixture(scope="module")
def new_server() -> Iterator:
    with run_emulator("--rate-limit", "off", twenty_version="v1.20") as emu:
        yield emu


@pytest.fixture
def new(new_server) -> Iterator[Client]:
    new_server.reset(metadata=True)
    client = Client(new_server)
    yield client
    client.session.close()


def graphql(client: Client, query: str, **variables) -> requests.Response:
    return client.post("/graphql", json={"query": query, "variables": variables})


# ----------------------------------------------------------------------------- v1.3: REST
def test_old_rest_batch_ignores_upsert_and_refuses_an_existing_email_or_id(old):
    first = old.post("/rest/batch/people?upsert=true", json=[{"emails": {"primaryEmail": "Ana@Example.com"}}])
    assert first.status_code == 201
    (ana,) = first.json()["data"]["createPeople"]
    again = old.post("/rest/batch/people?upsert=true", json=[{"emails": {"primaryEmail": "ana@example.com"}}])
    assert again.status_code == 400
    assert again.json() == {
        "statusCode": 400,
        "error": "BadRequestException",
        "messages": ["Duplicate Emails with value ana@example.com. Please set a unique one."],
    }
    by_id = old.post("/rest/batch/people?upsert=true", json=[{"id": ana["id"], "jobTitle": "CTO"}])
    assert (by_id.status_code, message(by_id)) == (400, "Record already exists")
    one = old.post("/rest/people?upsert=true", json={"id": ana["id"], "jobTitle": "CTO"})
    assert (one.status_code, message(one)) == (400, "Record already exists")
    assert [p["jobTitle"] for p in people(old)] == [""]  # nothing was updated


def test_old_duplicates_inside_one_batch_and_on_companies_name_the_field(old):
    body = [
        {"domainName": {"primaryLinkUrl": "https://Acme.com/"}},
        {"domainName": {"primaryLinkUrl": "https://acme.com"}},
    ]
    answer = old.post("/rest/batch/companies", json=body)
    assert answer.status_code == 400
    assert message(answer) == "Duplicate Domain Name with value https://acme.com. Please set a unique one."
    assert old.emu.records("companies") == []  # the batch is atomic


def test_old_rest_stores_null_for_text_sent_to_a_number_field(old):
    answer = old.post("/rest/batch/companies", json=[{"name": "Acme", "employees": "not a number"}])
    assert answer.status_code == 201
    assert answer.json()["data"]["createCompanies"][0]["employees"] is None
    assert old.emu.records("companies")[0]["employees"] is None


def test_old_unknown_id_on_update_and_delete_is_typeorms_entity_not_found(old):
    for answer in (
        old.patch(f"/rest/people/{MISSING_ID}", json={"jobTitle": "x"}),
        old.delete(f"/rest/people/{MISSING_ID}"),
    ):
        assert answer.status_code == 400
        assert answer.json()["error"] == "EntityNotFoundError"
        assert (
            message(answer)
            == f'Could not find any entity of type "person" matching: {{\n    "id": "{MISSING_ID}"\n}}'
        )


def test_old_batch_body_must_be_a_non_empty_array(old):
    assert message(old.post("/rest/batch/people", json=[])) == "Input must not be empty"
    assert message(old.post("/rest/batch/people", json={"jobTitle": "x"})) == "Body must be an array"


def test_old_rest_is_not_rate_limited(old):
    # The module's server runs with --rate-limit 2/60: the current version would refuse the third call.
    assert [old.get("/rest/people").status_code for _ in range(6)] == [200] * 6


# ----------------------------------------------------------------------------- v1.3: GraphQL
def test_old_graphql_upserts_on_email_and_id_like_rest_upsert_does_today(old):
    ana = old.post(
        "/rest/people", json={"emails": {"primaryEmail": "ana@example.com"}, "jobTitle": "Dev"}
    ).json()
    ana_id = ana["data"]["createPerson"]["id"]
    bob = old.post("/rest/people", json={"emails": {"primaryEmail": "bob@example.com"}}).json()["data"][
        "createPerson"
    ]
    # Soft-deleted through GraphQL: the v1.3 line's REST DELETE destroys, soft_delete or not (seen on the v1.3 rig).
    soft = "mutation D($f: PersonFilterInput!) { deletePeople(filter: $f) { id } }"
    assert old.post("/graphql", json={"query": soft, "variables": {"f": {"id": {"in": [bob["id"]]}}}}).ok
    rows = [
        {"emails": {"primaryEmail": "ANA@example.com"}, "jobTitle": "CTO"},  # matched on the normalised email
        {"id": bob["id"], "jobTitle": "Back"},  # matched on id, soft-deleted: revived
        {"emails": {"primaryEmail": "cy@example.com"}, "jobTitle": "New"},  # inserted
    ]
    answer = graphql(old, UPSERT_PEOPLE, data=rows, upsert=True)
    assert answer.status_code == 200
    created = answer.json()["data"]["createPeople"]
    # Updates first, then inserts (as REST upsert answers); only the selected fields come back.
    assert [(p["jobTitle"], p["emails"]["primaryEmail"]) for p in created] == [
        ("CTO", "ana@example.com"),
        ("Back", "bob@example.com"),
        ("New", "cy@example.com"),
    ]
    assert created[0] == {
        "id": ana_id,
        "jobTitle": "CTO",
        "emails": {"primaryEmail": "ana@example.com"},
        "__typename": "Person",
    }
    stored = {p["emails"]["primaryEmail"]: p for p in people(old)}
    assert sorted(stored) == ["ana@example.com", "bob@example.com", "cy@example.com"]
    assert stored["ana@example.com"]["id"] == ana_id


def test_old_graphql_batch_is_atomic_and_names_the_failure(old):
    rows = [{"emails": {"primaryEmail": "ok@example.com"}}, {"jobTitle": 42}]
    answer = graphql(old, UPSERT_PEOPLE, data=rows, upsert=True)
    assert answer.status_code == 200
    assert answer.json() == {
        "errors": [
            {
                "message": 'Invalid string value 42 for text field "jobTitle"',
                "path": ["createPeople"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
        "data": {"createPeople": None},
    }
    assert people(old) == []


def test_old_graphql_without_upsert_refuses_a_duplicate_like_rest(old):
    graphql(old, UPSERT_PEOPLE, data=[{"emails": {"primaryEmail": "ana@example.com"}}])
    again = graphql(old, UPSERT_PEOPLE, data=[{"emails": {"primaryEmail": "ana@example.com"}}], upsert=False)
    assert message(again) == "Duplicate Emails with value ana@example.com. Please set a unique one."
    assert len(people(old)) == 1


def test_old_graphql_inline_arguments_aliases_and_single_create(old):
    query = """mutation {
      one: createCompany(data: {name: "Acme", domainName: {primaryLinkUrl: "https://acme.com"}}, upsert: true) { id name }
      again: createCompanies(data: {name: "Acme 2", domainName: {primaryLinkUrl: "https://acme.com"}}, upsert: true) {
        id name domainName { primaryLinkUrl }
      }
    }"""
    data = graphql(old, query).json()["data"]
    assert data["one"]["name"] == "Acme"
    assert data["again"] == [
        {"id": data["one"]["id"], "name": "Acme 2", "domainName": {"primaryLinkUrl": "https://acme.com"}}
    ]


@pytest.mark.parametrize(
    "query, status, code, text",
    [
        ("mutation { createPeople(data: []) { id }", 400, "GRAPHQL_PARSE_FAILED", "Syntax Error"),
        (
            "mutation { createWidgets(data: []) { id } }",
            200,
            "GRAPHQL_VALIDATION_FAILED",
            'Cannot query field "createWidgets"',
        ),
        (
            "mutation { createPeople(data: []) }",
            200,
            "GRAPHQL_VALIDATION_FAILED",
            "must have a selection of subfields",
        ),
        (
            "mutation { createPeople(data: []) { nope } }",
            200,
            "GRAPHQL_VALIDATION_FAILED",
            'Cannot query field "nope" on type "Person"',
        ),
        (
            # Record queries are served now (versions.py graphql_queries); a subscription is not.
            "subscription { people { edges { node { id } } } }",
            200,
            "GRAPHQL_VALIDATION_FAILED",
            "serves only the mutations",
        ),
        (
            "query { widgets { edges { node { id } } } }",
            200,
            "GRAPHQL_VALIDATION_FAILED",
            'Cannot query field "widgets" on type "Query"',
        ),
    ],
)
def test_old_graphql_refuses_what_it_cannot_answer_before_writing(old, query, status, code, text):
    answer = graphql(old, query)
    assert answer.status_code == status
    (error,) = answer.json()["errors"]
    assert error["extensions"]["code"] == code and text in error["message"]
    assert people(old) == []


def test_old_graphql_checks_the_token_and_answers_200(old):
    answer = requests.post(
        old.emu.url + "/graphql",
        json={"query": UPSERT_PEOPLE},
        headers={"Authorization": "Bearer wrong"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json() == {"errors": [{"message": "No payload", "extensions": {"code": "UNAUTHENTICATED"}}]}


def test_old_graphql_is_throttled_with_a_user_input_error(old):
    answers = [graphql(old, UPSERT_PEOPLE, data=[{"jobTitle": str(i)}]) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[2].json() == {
        "errors": [
            {"message": "Limit reached (2 tokens per 60000 ms)", "extensions": {"code": "BAD_USER_INPUT"}}
        ],
        "data": None,
    }
    assert sorted(p["jobTitle"] for p in people(old)) == ["0", "1"]


def test_new_graphql_is_throttled_with_rate_limited_and_its_scope():
    with run_emulator("--rate-limit", "1/60", "--faults", "429@1", twenty_version="v1.20") as emu:
        client = Client(emu)
        injected = graphql(client, UPSERT_PEOPLE, data=[{}])
        assert graphql(client, UPSERT_PEOPLE, data=[{}]).json()["data"]["createPeople"][0]["jobTitle"] == ""
        refused = graphql(client, UPSERT_PEOPLE, data=[{}])
        for answer in (injected, refused):
            assert answer.status_code == 200
            (error,) = answer.json()["errors"]
            assert error["message"] == "Rate limit exceeded for apiKey: 1 requests per 60s."
            ext = error["extensions"]
            assert (ext["code"], ext["limit"], ext["remaining"], ext["periodCount"]) == (
                "RATE_LIMITED",
                1,
                0,
                60,
            )
            assert ext["retryAfterMs"] >= 0 and ext["scope"]["spenderType"] == "apiKey"
        assert len(emu.records("people")) == 1


def test_graphql_requests_are_numbered_and_spoiled_like_rest():
    with run_emulator("--faults", "503@1", twenty_version="v1.3") as emu:
        client = Client(emu)
        assert graphql(client, UPSERT_PEOPLE, data=[{"jobTitle": "a"}]).status_code == 503
        assert graphql(client, UPSERT_PEOPLE, data=[{"jobTitle": "a"}]).status_code == 200
        assert [(e["n"], e["path"], e["fault"], e["records"]) for e in emu.requests()] == [
            (1, "/graphql", "503", 0),
            (2, "/graphql", None, 1),
        ]


def test_current_version_has_no_graphql(client):
    assert client.post("/graphql", json={"query": UPSERT_PEOPLE}).status_code == 404


# ----------------------------------------------------------------------------- v1.20
def fields_of(client: Client, singular: str) -> dict[str, dict]:
    objects = client.get("/rest/metadata/objects").json()["data"]["objects"]
    (obj,) = [o for o in objects if o["nameSingular"] == singular]
    return {f["name"]: f for f in obj["fields"]}


def test_new_metadata_names_rich_text_rich_text(new):
    assert fields_of(new, "note")["bodyV2"]["type"] == "RICH_TEXT"
    note = new.post("/rest/notes", json={"title": "n", "bodyV2": {"markdown": "**hi**"}})
    assert note.status_code == 201 and note.json()["data"]["createNote"]["bodyV2"]["markdown"] == "**hi**"
    objects = new.get("/rest/metadata/objects").json()["data"]["objects"]
    (company,) = [o for o in objects if o["nameSingular"] == "company"]
    made = new.post(
        "/rest/metadata/fields",
        json={"objectMetadataId": company["id"], "name": "memo", "type": "RICH_TEXT", "label": "Memo"},
    )
    assert made.status_code == 201 and made.json()["data"]["createOneField"]["type"] == "RICH_TEXT"
    old_name = new.post(
        "/rest/metadata/fields",
        json={"objectMetadataId": company["id"], "name": "memo2", "type": "RICH_TEXT_V2", "label": "Memo"},
    )
    assert old_name.status_code == 400


def test_new_note_targets_use_target_join_columns(new):
    fields = fields_of(new, "noteTarget")
    assert {"targetPerson", "targetCompany", "targetOpportunity"} <= set(fields)
    assert "person" not in fields and fields["targetPerson"]["type"] == "MORPH_RELATION"
    assert (
        fields_of(new, "person")["noteTargets"]["relation"]["targetFieldMetadata"]["name"] == "targetPerson"
    )
    person_id = new.post("/rest/people", json={}).json()["data"]["createPerson"]["id"]
    note_id = new.post("/rest/notes", json={"title": "n"}).json()["data"]["createNote"]["id"]
    link = new.post("/rest/batch/noteTargets", json=[{"noteId": note_id, "targetPersonId": person_id}])
    assert link.status_code == 201
    (stored,) = new.emu.records("noteTargets")
    assert stored["targetPersonId"] == person_id and "personId" not in stored
    old_column = new.post("/rest/noteTargets", json={"noteId": note_id, "personId": person_id})
    assert (old_column.status_code, message(old_column)) == (
        400,
        'Object noteTarget doesn\'t have any "personId" field.',
    )


def test_new_custom_object_gets_a_target_column_on_note_and_task_targets(new):
    made = new.post(
        "/rest/metadata/objects",
        json={"nameSingular": "pet", "namePlural": "pets", "labelSingular": "Pet", "labelPlural": "Pets"},
    )
    assert made.status_code == 201
    assert "targetPet" in fields_of(new, "noteTarget") and "targetPet" in fields_of(new, "taskTarget")
    assert "pet" in fields_of(new, "favorite")  # favorites keep plain relations
    pet_id = new.post("/rest/pets", json={"name": "Rex"}).json()["data"]["createPet"]["id"]
    task_id = new.post("/rest/tasks", json={"title": "t"}).json()["data"]["createTask"]["id"]
    assert new.post("/rest/taskTargets", json={"taskId": task_id, "targetPetId": pet_id}).status_code == 201


def test_new_429_has_retry_after_rate_limit_headers_and_the_usage_limit_body():
    with run_emulator("--rate-limit", "2/60", twenty_version="v1.20") as emu:
        client = Client(emu)
        codes = [client.get("/rest/people") for _ in range(3)]
        assert [r.status_code for r in codes] == [200, 200, 429]
        refused = codes[2]
        assert 1 <= int(refused.headers["Retry-After"]) <= 30
        assert refused.headers["X-RateLimit-Limit"] == "2" and refused.headers["X-RateLimit-Remaining"] == "0"
        assert int(refused.headers["X-RateLimit-Reset"]) > 0
        body = refused.json()
        assert body["scope"]["spenderType"] == "apiKey"
        assert emu.api_key not in refused.text
        assert {k: v for k, v in body.items() if k not in ("scope", "retryAfterSeconds")} == {
            "statusCode": 429,
            "error": "RATE_LIMITED",
            "messages": ["Rate limit exceeded for apiKey: 2 requests per 60s."],
            "limitKind": "speed",
            "limit": 2,
            "remaining": 0,
            "periodCount": 60,
            "periodUnit": "second",
        }
        assert body["retryAfterSeconds"] == int(refused.headers["Retry-After"])


def test_new_injected_429_answers_the_same_way():
    with run_emulator("--rate-limit", "off", "--faults", "429@1", twenty_version="v1.20") as emu:
        refused = Client(emu).get("/rest/people")
        assert refused.status_code == 429 and refused.json()["error"] == "RATE_LIMITED"
        assert "Retry-After" in refused.headers


def test_new_batch_and_page_maxima_are_lifted(new):
    assert new.post("/rest/batch/people", json=[{} for _ in range(250)]).status_code == 201
    assert len(new.get("/rest/people").json()["data"]["people"]) == 250  # the default page is 1000, not 60
    too_many = new.post("/rest/batch/people", json=[{} for _ in range(10_001)])
    assert (too_many.status_code, message(too_many)) == (400, "Maximum number of records to upsert is 10000.")


def test_new_rest_still_upserts_and_max_batch_overrides_the_version():
    with run_emulator("--rate-limit", "off", "--max-batch", "2", twenty_version="v1.20") as emu:
        client = Client(emu)
        first = client.post("/rest/batch/people?upsert=true", json=[{"emails": {"primaryEmail": "a@b.co"}}])
        again = client.post(
            "/rest/batch/people?upsert=true", json=[{"emails": {"primaryEmail": "a@b.co"}, "jobTitle": "x"}]
        )
        assert first.status_code == again.status_code == 201
        assert [p["jobTitle"] for p in emu.records("people")] == ["x"]
        assert (
            message(client.post("/rest/batch/people", json=[{}, {}, {}]))
            == "Maximum number of records to upsert is 2."
        )


def test_an_unknown_version_is_refused_at_start():
    with pytest.raises(RuntimeError, match="twenty-version"):
        with run_emulator(twenty_version="v0.1"):
            pass


def test_the_environment_picks_the_version_when_the_caller_does_not(monkeypatch):
    monkeypatch.setenv("TWENTY_EMULATOR_VERSION", "v1.20")
    with run_emulator("--rate-limit", "off") as emu:
        assert fields_of(Client(emu), "note")["bodyV2"]["type"] == "RICH_TEXT"
    with run_emulator("--rate-limit", "off", twenty_version="current") as emu:
        assert fields_of(Client(emu), "note")["bodyV2"]["type"] == "RICH_TEXT_V2"
