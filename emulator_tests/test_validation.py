"""Each validation rule answers with the real server's status and message."""

from __future__ import annotations

import pytest
from emulator_client import Client

PERSON_FIELDS_ERR = 'Object person doesn\'t have any "{}" field.'


def error_of(resp) -> tuple[int, str]:
    body = resp.json()
    return resp.status_code, body["messages"][0]


def make_custom_object(client: Client, singular="gadget", plural="gadgets", fields=()) -> str:
    resp = client.post(
        "/rest/metadata/objects",
        json={
            "nameSingular": singular,
            "namePlural": plural,
            "labelSingular": "Gadget",
            "labelPlural": "Gadgets",
        },
    )
    assert resp.status_code == 201, resp.text
    object_id = resp.json()["data"]["createOneObject"]["id"]
    for spec in fields:
        r = client.post("/rest/metadata/fields", json={"objectMetadataId": object_id, **spec})
        assert r.status_code == 201, r.text
    return object_id


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("/rest/people", {"nickname": "x"}, PERSON_FIELDS_ERR.format("nickname")),
        (
            "/rest/people",
            {"name": {"middleName": "Q"}},
            'Invalid subfield middleName for full name field "name"',
        ),
        (
            "/rest/people",
            {"emails": {"primary": "a@b.c"}},
            'Invalid subfield primary for emails field "emails"',
        ),
        ("/rest/people", {"emails": "a@b.c"}, "Invalid object value 'a@b.c' for field \"emails\""),
        ("/rest/people", {"jobTitle": 1}, 'Invalid string value 1 for text field "jobTitle"'),
        ("/rest/companies", {"employees": "10"}, "Invalid number value '10' for field \"employees\""),
        ("/rest/companies", {"employees": "ten"}, "Invalid number value 'ten' for field \"employees\""),
        (
            "/rest/companies",
            {"idealCustomerProfile": "true"},
            "Invalid boolean value 'true' for field \"idealCustomerProfile\"",
        ),
        ("/rest/tasks", {"status": "todo"}, "Invalid value 'todo' for field \"status\""),
        ("/rest/opportunities", {"stage": "WON"}, "Invalid value 'WON' for field \"stage\""),
        (
            "/rest/people",
            {"companyId": "not-a-uuid"},
            "Invalid UUID value 'not-a-uuid' for field \"companyId\"",
        ),
        (
            "/rest/tasks",
            {"dueAt": "15/01/2026"},
            "Invalid value '15/01/2026' for date or date-time field \"dueAt\"",
        ),
        (
            "/rest/tasks",
            {"dueAt": "not a date"},
            "Invalid value 'not a date' for date or date-time field \"dueAt\"",
        ),
        (
            "/rest/tasks",
            {"dueAt": "2026-13-01"},
            "Invalid value '2026-13-01' for date or date-time field \"dueAt\"",
        ),
        (
            "/rest/people",
            {"noteTargets": []},
            "One-to-many relation noteTargets field does not support write operations.",
        ),
        (
            "/rest/noteTargets",
            {"targetPersonId": None},
            'Object noteTarget doesn\'t have any "targetPersonId" field.',
        ),
        (
            "/rest/notes",
            {"bodyV2": "x"},
            "Invalid rich text v2 value 'x' for field \"bodyV2\" - Should be an object",
        ),
    ],
)
def test_rejected_with_real_message(client: Client, path, body, message):
    status, got = error_of(client.post(path, json=body))
    assert (status, got) == (400, message)
    assert client.emu.records(path.rsplit("/", 1)[1]) == []


def test_rejection_body_shape(client: Client):
    resp = client.post("/rest/people", json={"nickname": "x"})
    assert resp.json() == {
        "statusCode": 400,
        "error": "BadRequestException",
        "messages": [PERSON_FIELDS_ERR.format("nickname")],
    }


@pytest.mark.parametrize(
    "body, message",
    [
        ({"dueAt": 1768471200000}, 'date/time field value out of range: "1768471200000"'),
        ({"dueAt": "2026-02-30"}, 'date/time field value out of range: "2026-02-30"'),
    ],
)
def test_database_value_errors_are_500(client: Client, body, message):
    resp = client.post("/rest/tasks", json=body)
    assert resp.status_code == 500
    assert resp.json() == {"statusCode": 500, "error": "InternalServerErrorException", "messages": [message]}


def test_relation_to_missing_record_is_500_fk(client: Client):
    resp = client.post("/rest/people", json={"companyId": "00000000-0000-4000-8000-00000000c0de"})
    assert resp.status_code == 500
    assert resp.json()["messages"] == [
        'insert or update on table "person" violates foreign key constraint "FK_ee066ddacfce46c9a7cb90edd1a"'
    ]
    assert client.emu.records("people") == []


def test_null_on_non_nullable_with_default_is_500(client: Client):
    resp = client.post("/rest/opportunities", json={"name": "x", "stage": None})
    assert resp.status_code == 500
    assert "violates not-null constraint" in resp.json()["messages"][0]


def test_accepted_values_are_normalised(client: Client):
    person = client.post(
        "/rest/people",
        json={
            "emails": {"primaryEmail": "Ada@Example.COM", "additionalEmails": ["X@Y.Z"]},
            "linkedinLink": {"primaryLinkUrl": "https://LinkedIn.com/in/Ada/"},
            "xLink": {"primaryLinkUrl": "x.com/ada"},
            "phones": {"primaryPhoneNumber": "+33 6 12 34 56 78"},
            "name": {"firstName": "Ada", "lastName": None},
            "jobTitle": None,
        },
    ).json()["data"]["createPerson"]
    assert person["emails"] == {"primaryEmail": "ada@example.com", "additionalEmails": ["x@y.z"]}
    assert person["linkedinLink"]["primaryLinkUrl"] == "https://linkedin.com/in/Ada"
    assert person["xLink"]["primaryLinkUrl"] == "x.com/ada"
    assert person["phones"] == {
        "primaryPhoneNumber": "612345678",
        "primaryPhoneCountryCode": "FR",
        "primaryPhoneCallingCode": "+33",
        "additionalPhones": [],
    }
    assert person["name"] == {"firstName": "Ada", "lastName": ""}
    assert person["jobTitle"] == ""
    assert person["createdAt"] == person["updatedAt"]
    assert person["createdBy"] == {
        "source": "API",
        "workspaceMemberId": None,
        "name": "emulator-key",
        "context": {},
    }


def test_numbers_dates_currency(client: Client):
    company = client.post(
        "/rest/companies",
        json={"employees": 10.5, "address": {"addressLat": 48.8559, "addressCity": "Paris"}},
    ).json()["data"]["createCompany"]
    assert company["employees"] == 10.5
    assert company["address"]["addressLat"] == "48.8559"
    assert company["address"]["addressStreet1"] == ""
    deal = client.post(
        "/rest/opportunities",
        json={"amount": {"amountMicros": "49990000.5"}, "closeDate": "2026-01-15T10:00:00+02:00"},
    ).json()["data"]["createOpportunity"]
    assert deal["amount"] == {"amountMicros": 49990000, "currencyCode": None}
    assert deal["closeDate"] == "2026-01-15T08:00:00.000Z"
    assert deal["stage"] == "NEW"
    task = client.post("/rest/tasks", json={"dueAt": "2026-01-15"}).json()["data"]["createTask"]
    assert task["dueAt"] == "2026-01-15T00:00:00.000Z"
    assert task["status"] == "TODO"


@pytest.mark.parametrize(
    "phones, code, message",
    [
        ({"primaryPhoneNumber": "abc"}, "INVALID_PHONE_NUMBER", "Provided phone number is invalid abc"),
        (
            {"primaryPhoneNumber": "0612345678"},
            "INVALID_PHONE_NUMBER",
            "Provided phone number is invalid 0612345678",
        ),
        (
            {"primaryPhoneNumber": "0612345678", "primaryPhoneCountryCode": "XX"},
            "INVALID_COUNTRY_CODE",
            "Invalid country code XX",
        ),
    ],
)
def test_phone_errors(client: Client, phones, code, message):
    resp = client.post("/rest/people", json={"phones": phones})
    assert resp.status_code == 400
    assert resp.json() == {"statusCode": 400, "error": "Error", "messages": [message], "code": code}


def test_phone_with_country(client: Client):
    resp = client.post(
        "/rest/people",
        json={"phones": {"primaryPhoneNumber": "06 12 34 56 78", "primaryPhoneCountryCode": "FR"}},
    )
    assert resp.json()["data"]["createPerson"]["phones"]["primaryPhoneNumber"] == "612345678"


def test_object_names(client: Client):
    assert error_of(client.get("/rest/person")) == (400, "object 'person' not found. Did you mean 'people'?")
    assert error_of(client.get("/rest/notAnObject")) == (400, "object 'notAnObject' not found. eg: companies")
    assert error_of(client.patch("/rest/people/not-a-uuid", json={})) == (
        400,
        "'not-a-uuid' is not a valid UUID",
    )


def test_invalid_json_body(client: Client):
    resp = client.request(
        "POST", "/rest/people", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == {"statusCode", "message", "error"}
    assert body["error"] == "Bad Request" and body["statusCode"] == 400


def test_batch_shapes(client: Client):
    assert client.post("/rest/batch/companies", json=[]).json() == {"data": {"createCompanies": []}}
    resp = client.post("/rest/batch/companies", json={"name": "x"})
    assert resp.status_code == 400 and resp.json()["error"] == "TypeError"
    resp = client.post("/rest/batch/companies", json=[{"name": f"c{i}"} for i in range(201)])
    assert error_of(resp) == (400, "Maximum number of records to upsert is 200.")
    blank = client.post("/rest/people", json=None)
    assert blank.status_code == 201 and blank.json()["data"]["createPerson"]["name"] == {
        "firstName": "",
        "lastName": "",
    }


def test_batch_is_all_or_nothing(client: Client):
    resp = client.post(
        "/rest/batch/companies", json=[{"name": "A"}, {"name": "B", "employees": "many"}, {"name": "C"}]
    )
    assert error_of(resp) == (400, "Invalid number value 'many' for field \"employees\"")
    assert client.emu.records("companies") == []


@pytest.mark.parametrize(
    "batch, upsert",
    [
        ([{"emails": {"primaryEmail": "twin@x.org"}}, {"emails": {"primaryEmail": "twin@x.org"}}], False),
        ([{"emails": {"primaryEmail": "gemini@x.org"}}, {"emails": {"primaryEmail": "GEMINI@X.ORG"}}], True),
    ],
)
def test_duplicates_inside_a_batch(client: Client, batch, upsert):
    resp = client.post("/rest/batch/people" + ("?upsert=true" if upsert else ""), json=batch)
    assert error_of(resp) == (400, "A duplicate entry was detected")
    assert client.emu.records("people") == []


def test_duplicates_against_stored_records(client: Client):
    first = client.post("/rest/people", json={"emails": {"primaryEmail": "a@x.org"}}).json()["data"][
        "createPerson"
    ]
    assert error_of(client.post("/rest/people", json={"emails": {"primaryEmail": "A@x.org"}})) == (
        400,
        "A duplicate entry was detected",
    )
    assert error_of(client.post("/rest/people", json={"id": first["id"]})) == (
        400,
        "A duplicate entry was detected",
    )
    company = {"domainName": {"primaryLinkUrl": "https://acme.example"}}
    assert client.post("/rest/companies", json=company).status_code == 201
    assert error_of(client.post("/rest/companies", json=company))[1] == "A duplicate entry was detected"
    # Empty unique values never collide.
    for _ in range(2):
        assert client.post("/rest/people", json={"emails": {"primaryEmail": ""}}).status_code == 201


def test_custom_field_types(client: Client):
    make_custom_object(
        client,
        fields=[
            {"type": "NUMERIC", "name": "weight", "label": "Weight"},
            {
                "type": "MULTI_SELECT",
                "name": "tags",
                "label": "Tags",
                "options": [{"value": "A", "label": "A"}, {"value": "B", "label": "B"}],
            },
            {"type": "RATING", "name": "score", "label": "Score"},
            {"type": "DATE", "name": "born", "label": "Born"},
            {"type": "ARRAY", "name": "aliases", "label": "Aliases"},
            {"type": "RAW_JSON", "name": "extra", "label": "Extra"},
            {"type": "UUID", "name": "ref", "label": "Ref"},
            {"type": "CURRENCY", "name": "price", "label": "Price"},
            {"type": "BOOLEAN", "name": "active", "label": "Active"},
        ],
    )
    ok = client.post(
        "/rest/gadgets",
        json={
            "weight": "12.50",
            "tags": ["A"],
            "score": "RATING_3",
            "born": "2020-02-29",
            "aliases": ["x"],
            "extra": {"k": 1},
            "ref": "00000000-0000-4000-8000-000000000001",
            "price": {"amountMicros": 1000000, "currencyCode": "EUR"},
            "active": True,
        },
    )
    assert ok.status_code == 201, ok.text
    gadget = ok.json()["data"]["createGadget"]
    assert gadget["weight"] == "12.50" and gadget["born"] == "2020-02-29" and gadget["tags"] == ["A"]
    assert error_of(client.post("/rest/gadgets", json={"tags": ["a"]})) == (
        400,
        "Invalid value 'a' for multi select field \"tags\"",
    )
    assert error_of(client.post("/rest/gadgets", json={"score": "RATING_9"})) == (
        400,
        "Invalid value 'RATING_9' for field \"score\"",
    )
    assert error_of(client.post("/rest/gadgets", json={"weight": "heavy"})) == (
        400,
        'Invalid number value NaN for field "weight"',
    )
    assert client.post("/rest/noteTargets", json={"gadgetId": gadget["id"]}).status_code == 201


def test_metadata_rejects_query_string(client: Client):
    resp = client.get("/rest/metadata/objects?limit=1000")
    assert resp.status_code == 400


def test_auth(client: Client):
    url = client.emu.url + "/rest/people"
    import requests

    missing = requests.get(url, timeout=5)
    assert missing.status_code == 403
    assert missing.json() == {
        "statusCode": 403,
        "messages": ["Missing authentication token"],
        "error": "FORBIDDEN_EXCEPTION",
    }
    assert requests.get(url, headers={"Authorization": client.emu.api_key}, timeout=5).status_code == 403
    wrong = requests.get(url, headers={"Authorization": "Bearer invalid-token"}, timeout=5)
    assert wrong.status_code == 401
    assert wrong.json() == {"statusCode": 401, "messages": ["No payload"], "error": "UNAUTHENTICATED"}
    assert requests.get(client.emu.url + "/healthz", timeout=5).json()["status"] == "ok"
