"""The emulator checks PHONES as transform-phones-value.util.ts does (see twenty_emulator/phones.py)."""

from __future__ import annotations

import pytest
from emulator_client import Client


def phones_of(client: Client, phones: dict) -> dict:
    resp = client.post("/rest/people", json={"phones": phones})
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]["createPerson"]["phones"]


@pytest.mark.parametrize(
    "sent, stored",
    [
        # faker's `telephone` values, once the connector has parsed them with default_phone_country US
        (
            {
                "primaryPhoneNumber": "2424504284",
                "primaryPhoneCountryCode": "BS",
                "primaryPhoneCallingCode": "+1",
            },
            ("2424504284", "BS", "+1"),
        ),
        ({"primaryPhoneNumber": "+1 212 555 0199"}, ("2125550199", "US", "+1")),
        ({"primaryPhoneNumber": "+39 06 1234 5678"}, ("0612345678", "IT", "+39")),  # Italy keeps its 0
        (
            {"primaryPhoneNumber": "06 12 34 56 78", "primaryPhoneCallingCode": "+33"},
            ("612345678", "FR", "+33"),
        ),
        ({"primaryPhoneCountryCode": "FR"}, ("", "FR", "")),
    ],
)
def test_stored_phones(client: Client, sent, stored):
    got = phones_of(client, sent)
    assert (
        got["primaryPhoneNumber"],
        got["primaryPhoneCountryCode"],
        got["primaryPhoneCallingCode"],
    ) == stored


@pytest.mark.parametrize(
    "phones, code, message",
    [
        (
            {"primaryPhoneNumber": "242.450.4284"},
            "INVALID_PHONE_NUMBER",
            "Provided phone number is invalid 242.450.4284",
        ),
        ({"primaryPhoneCallingCode": "+999"}, "INVALID_CALLING_CODE", "Invalid calling code +999"),
        (
            {
                "primaryPhoneNumber": "612345678",
                "primaryPhoneCountryCode": "FR",
                "primaryPhoneCallingCode": "+44",
            },
            "CONFLICTING_PHONE_CALLING_CODE_AND_COUNTRY_CODE",
            "Provided country code and calling code are conflicting",
        ),
        (
            {"primaryPhoneNumber": "+44 20 7946 0958", "primaryPhoneCountryCode": "FR"},
            "CONFLICTING_PHONE_COUNTRY_CODE",
            "Provided and inferred country code are conflicting",
        ),
        (
            {"primaryPhoneNumber": "+44 20 7946 0958", "primaryPhoneCallingCode": "+33"},
            "CONFLICTING_PHONE_CALLING_CODE",
            "Provided and inferred calling code are conflicting",
        ),
    ],
)
def test_phone_errors(client: Client, phones, code, message):
    resp = client.post("/rest/people", json={"phones": phones})
    assert resp.status_code == 400
    assert resp.json() == {"statusCode": 400, "error": "Error", "messages": [message], "code": code}
