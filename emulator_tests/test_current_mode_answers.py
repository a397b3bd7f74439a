"""What the default mode answers where the January 2026 recording is silent and the emulator used to differ.

Each expectation is what a real server recorded (conformance/recorded/, the probe_* cases) where every line agrees,
or Twenty's source of that time where they do not (cited beside the emulator's code).
"""

from __future__ import annotations

import pytest
from emulator_client import Client

BAD_BODIES = [
    # (body, Node 24's message through body-parser, as recorded on the v2 line)
    ("null", "Unexpected token 'n', \"null\" is not valid JSON"),
    ('"text"', 'Unexpected token \'"\', ""text"" is not valid JSON'),
    ("42", "Unexpected token '4', \"42\" is not valid JSON"),
    ('{"name":', "Unexpected end of JSON input"),
    ('{"name" 1}', "Expected ':' after property name in JSON at position 8 (line 1 column 9)"),
    (
        '{"name": {"firstName": "Broken"',
        "Expected ',' or '}' after property value in JSON at position 31 (line 1 column 32)",
    ),
    (
        '{"name": {"firstName": "A"}}x',
        "Unexpected non-whitespace character after JSON at position 28 (line 1 column 29)",
    ),
    ('{"jobTitle": "A",}', "Expected double-quoted property name in JSON at position 17 (line 1 column 18)"),
    ('{"jobTitle": nope}', 'Unexpected token \'o\', "{"jobTitle": nope}" is not valid JSON'),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=[b for b, _ in BAD_BODIES])
def test_a_body_that_is_not_a_json_object_or_array_is_a_400_and_writes_nothing(
    client: Client, body: str, message: str
) -> None:
    resp = client.post("/rest/people", data=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert resp.json() == {"message": message, "error": "Bad Request", "statusCode": 400}
    assert client.emu.records("people") == []


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Jan 15, 2026", "2026-01-15T00:00:00.000Z"),  # recorded on the v2 line (probe_date_month_name)
        ("January 15, 2026", "2026-01-15T00:00:00.000Z"),
        ("15 Jan 2026", "2026-01-15T00:00:00.000Z"),
        ("Thu, 15 Jan 2026 10:30:00 GMT", "2026-01-15T10:30:00.000Z"),
    ],
)
def test_a_date_javascript_and_postgres_both_read_is_stored(client: Client, sent: str, stored: str) -> None:
    resp = client.post("/rest/tasks", json={"title": "t", "dueAt": sent})
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"]["createTask"]["dueAt"] == stored


def test_a_month_name_javascript_does_not_know_is_still_refused(client: Client) -> None:
    resp = client.post("/rest/tasks", json={"title": "t", "dueAt": "Foo 15, 2026"})
    assert resp.status_code == 400
    assert resp.json()["messages"] == ["Invalid value 'Foo 15, 2026' for date or date-time field \"dueAt\""]


def test_a_cursor_with_an_order_on_a_composite_sub_field_is_an_invalid_cursor(client: Client) -> None:
    for first in ("Ada", "Bob"):
        assert client.post("/rest/people", json={"name": {"firstName": first}}).status_code == 201
    page = client.get(
        "/rest/people", params={"order_by": "name.firstName[AscNullsFirst]", "limit": "1"}
    ).json()
    cursor = page["pageInfo"]["endCursor"]
    resp = client.get(
        "/rest/people",
        params={"order_by": "name.firstName[AscNullsFirst]", "limit": "1", "starting_after": cursor},
    )
    assert resp.status_code == 400
    assert resp.json() == {"statusCode": 400, "error": "BadRequestException", "messages": ["Invalid cursor"]}
    # an order on a plain field pages on
    plain = client.get(
        "/rest/people", params={"order_by": "jobTitle", "limit": "1", "starting_after": cursor}
    )
    assert plain.status_code == 200


def test_a_currency_amount_error_names_the_sub_field(client: Client) -> None:
    resp = client.post("/rest/opportunities", json={"name": "n", "amount": {"amountMicros": "NaN"}})
    assert resp.status_code == 400
    assert resp.json()["messages"] == ['Invalid number value NaN for field "amount.amountMicros"']


@pytest.mark.parametrize(
    ("plural", "body", "table", "constraint"),
    [  # the names both real lines recorded (probe_fk_*); TypeORM derives them from table and column
        (
            "people",
            {"companyId": "00000000-0000-4000-8000-00000000c0de"},
            "person",
            "FK_ee066ddacfce46c9a7cb90edd1a",
        ),
        (
            "opportunities",
            {"name": "o", "companyId": "00000000-0000-4000-8000-00000000c0de"},
            "opportunity",
            "FK_5a104112b21bbebb37fca93a548",
        ),
        (
            "opportunities",
            {"name": "o", "pointOfContactId": "00000000-0000-4000-8000-00000000c0de"},
            "opportunity",
            "FK_ce5aa294b17fe23a0b19267f1e1",
        ),
        (
            "noteTargets",
            {"noteId": "00000000-0000-4000-8000-00000000c0de"},
            "noteTarget",
            "FK_52050fd9cf6b7ba9982ef9d867a",
        ),
        (
            "taskTargets",
            {"taskId": "00000000-0000-4000-8000-00000000c0de"},
            "taskTarget",
            "FK_c95f3cce2b95309005a9d1ed824",
        ),
    ],
)
def test_a_foreign_key_error_names_the_constraint_postgres_has(
    client: Client, plural: str, body: dict, table: str, constraint: str
) -> None:
    resp = client.post(f"/rest/{plural}", json=body)
    assert resp.status_code == 500
    assert resp.json()["messages"] == [
        f'insert or update on table "{table}" violates foreign key constraint "{constraint}"'
    ]
