import pytest
from hypothesis import given
from hypothesis import strategies as st

from destination_twenty.config import ColumnMap
from destination_twenty.errors import ConfigError, RecordRejected
from destination_twenty.mapping.keys import normalize_url, unique_keys
from destination_twenty.mapping.mapper import Mapper
from destination_twenty.mapping.schema import FieldInfo, ObjectSchema

ADA_ID = "123e4567-e89b-42d3-a456-426614174000"


# A custom object with the types the standard objects lack.
CUSTOM = ObjectSchema(
    "pet",
    "pets",
    {
        f.name: f
        for f in [
            FieldInfo("id", "UUID", nullable=False, is_system=True),
            FieldInfo("tags", "MULTI_SELECT", options=("RED", "GREEN"), option_labels=("Red", "Green")),
            FieldInfo("score", "RATING"),
            FieldInfo("born", "DATE"),
            FieldInfo("weight", "NUMERIC"),
            FieldInfo("aliases", "ARRAY"),
            FieldInfo("extra", "RAW_JSON"),
            FieldInfo("phones", "PHONES"),
            FieldInfo("address", "ADDRESS"),
            FieldInfo("notes", "RICH_TEXT"),
            FieldInfo("files", "FILES"),
            FieldInfo("vaccinated", "BOOLEAN"),
            FieldInfo(
                "kind", "SELECT", options=("DOG", "CAT", "IN_PROGRESS"), option_labels=("Dog", "Cat", "Busy")
            ),
        ]
    },
)


def cm(column, field, *transforms):
    return ColumnMap(column=column, field=field, transforms=tuple(transforms))


def one(schema, field, value, *transforms):
    """Map one value to one field and return what lands in the payload (None when omitted)."""
    payload = Mapper([cm("v", field, *transforms)], schema).map({"v": value})
    top, _, sub = field.partition(".")
    if sub:
        return payload.get(top, {}).get(sub)
    return payload.get(top)


def rejected(schema, field, value, *transforms):
    with pytest.raises(RecordRejected) as err:
        Mapper([cm("v", field, *transforms)], schema).map({"v": value})
    assert err.value.field == field
    return err.value.reason


# ---- the seed example ----


SEED_MAPPING = [
    cm("email", "emails.primaryEmail", "lowercase"),
    cm("first_name", "name.firstName"),
    cm("company_size", "employees"),
    cm("revenue", "annualRecurringRevenue.amountMicros"),
]


def test_seed_mapping_on_people_is_a_problem(people):
    problems = Mapper(SEED_MAPPING, people).problems()
    assert problems == [
        'column_mapping[2] (company_size → employees): Object person has no field "employees"; '
        "closest: phones, emails, position",
        "column_mapping[3] (revenue → annualRecurringRevenue.amountMicros): Object person has no field "
        '"annualRecurringRevenue"; closest: avatarUrl, linkedinLink, name',
    ]


def test_seed_mapping_rejects_records_that_fill_an_unknown_field(people):
    mapper = Mapper(SEED_MAPPING, people)
    assert mapper.map({"email": "A@x.com", "first_name": "Ada"}) == {
        "emails": {"primaryEmail": "a@x.com"},
        "name": {"firstName": "Ada"},
    }
    with pytest.raises(RecordRejected) as err:
        mapper.map({"email": "a@x.com", "company_size": 50})
    assert err.value.field == "employees"
    assert "has no field" in err.value.reason


def test_good_mapping_on_companies(companies):
    mapping = [
        cm("domain", "domainName.primaryLinkUrl"),
        cm("name", "name"),
        cm("company_size", "employees"),
        cm("revenue", "annualRecurringRevenue.amountMicros"),
        cm("currency", "annualRecurringRevenue.currencyCode"),
        cm("icp", "idealCustomerProfile", "yesno_to_bool"),
        cm("city", "address.addressCity"),
        cm("owner", "accountOwnerId"),
    ]
    mapper = Mapper(mapping, companies)
    assert mapper.problems() == []
    record = {
        "domain": "https://Acme.COM/",
        "name": "Acme",
        "company_size": "50",
        "revenue": 1250000.00,
        "currency": "usd ",
        "icp": "Yes",
        "city": "Paris",
        "owner": ADA_ID.upper(),
        "_airbyte_raw_id": "ignored",
    }
    assert mapper.map(record) == {
        "domainName": {"primaryLinkUrl": "https://acme.com"},
        "name": "Acme",
        "employees": 50,
        "annualRecurringRevenue": {"amountMicros": 1250000000000, "currencyCode": "USD"},
        "idealCustomerProfile": True,
        "address": {"addressCity": "Paris"},
        "accountOwnerId": ADA_ID,
    }


# ---- configuration ----


def test_bad_transform_names_the_mapping_entry():
    with pytest.raises(ConfigError) as err:
        Mapper([cm("a", "city"), cm("b", "jobTitle", "trim", "upper")])
    assert str(err.value).startswith(
        "column_mapping[1] (b → jobTitle): Unknown transform 'upper'; valid transforms:"
    )


def test_problems_need_a_schema():
    assert Mapper(SEED_MAPPING).problems() == []


def test_problems_duplicate_and_overlapping_fields(people):
    mapper = Mapper([cm("a", "city"), cm("b", "city"), cm("c", "name"), cm("d", "name.firstName")], people)
    assert mapper.problems() == [
        'column_mapping[0] and column_mapping[1] both write "city"; keep one of them.',
        'column_mapping[2] and column_mapping[3] both write "name.firstName" (and "name"); keep one of them.',
    ]


@pytest.mark.parametrize(
    "field, fragment",
    [
        (
            "name.middleName",
            'Field "name" (FULL_NAME) has no sub-field "middleName"; it has firstName, lastName',
        ),
        ("company", 'join column "companyId"'),
        ("createdAt", "Twenty sets it itself"),
        ("taskTargets", "one-to-many relation"),
        ("jobTitle.x", 'Field "jobTitle" (TEXT) has no sub-fields'),
    ],
)
def test_problems_for_unwritable_fields(people, field, fragment):
    (problem,) = Mapper([cm("col", field)], people).problems()
    assert problem.startswith(f"column_mapping[0] (col → {field}): ")
    assert fragment in problem


# ---- warnings ----


def test_partial_links_are_completed_from_the_stored_record_when_the_schema_is_known(companies):
    assert Mapper([cm("d", "domainName.primaryLinkUrl")], companies).warnings() == [
        "domainName: the mapping sets only primaryLinkUrl. Twenty replaces a link field whole, so the "
        "primaryLinkLabel and secondaryLinks stored in Twenty are read before each write that may update records "
        "and sent along (one extra read per batch)."
    ]


def test_warning_for_partial_links_without_schema():
    (warning,) = Mapper([cm("l", "linkedinLink.primaryLinkLabel")]).warnings()
    assert warning.startswith("linkedinLink: the mapping sets only primaryLinkLabel.")
    assert "primaryLinkUrl and secondaryLinks already stored in Twenty will be cleared" in warning


def test_warning_for_additional_emails_without_primary(people):
    (warning,) = Mapper([cm("e", "emails.additionalEmails")], people).warnings()
    assert warning.startswith("emails: the mapping sets additionalEmails without primaryEmail.")
    assert "blanks the primary email then, so the stored one is read" in warning
    (warning,) = Mapper([cm("e", "emails.additionalEmails")]).warnings()
    assert "map a column to emails.primaryEmail as well" in warning


def test_no_warning_for_complete_or_merging_composites(people, companies):
    assert Mapper([cm("e", "emails.primaryEmail"), cm("f", "name.firstName")], people).warnings() == []
    full_links = [cm("u", "domainName.primaryLinkUrl"), cm("l", "domainName.primaryLinkLabel"),
                  cm("s", "domainName.secondaryLinks")]  # fmt: skip
    assert Mapper(full_links, companies).warnings() == []
    assert Mapper([cm("d", "domainName")], companies).warnings() == []


# ---- payload building ----


def test_dot_notation_builds_composites_and_skips_empties(people):
    mapper = Mapper(
        [cm("first", "name.firstName"), cm("last", "name.lastName"), cm("title", "jobTitle", "null_if:-"),
         cm("city", "city"), cm("email", "emails.primaryEmail")],
        people,
    )  # fmt: skip
    assert mapper.map({"first": "Ada", "last": "Lovelace", "title": "-", "city": ""}) == {
        "name": {"firstName": "Ada", "lastName": "Lovelace"}
    }
    assert mapper.map({"first": None, "last": "", "email": "  "}) == {}
    assert mapper.map({}) == {}


def test_schemaless_mapping_passes_values_through():
    mapper = Mapper([cm("a", "employees"), cm("b", "amount.amountMicros"), cm("c", "name.firstName", "trim"),
                     cm("d", "flag"), cm("e", "empty")])  # fmt: skip
    assert mapper.map({"a": "10", "b": "49.99", "c": " Ada ", "d": "yes", "e": []}) == {
        "employees": "10",
        "amount": {"amountMicros": 49990000},
        "name": {"firstName": "Ada"},
        "flag": "yes",
    }


def test_identity_mode_schemaless():
    mapper = Mapper([])
    record = {
        "jobTitle": "CTO",
        "emails.primaryEmail": "Ada@X.com",
        "name": {"firstName": "Ada", "lastName": None},
        "amount": {"amountMicros": 12.5, "currencyCode": ""},
        "city": "",
        "_airbyte_extracted_at": 1,
        "_ab_cdc_lsn": 2,
        "nothing": None,
    }
    assert mapper.map(record) == {
        "jobTitle": "CTO",
        "emails": {"primaryEmail": "Ada@X.com"},
        "name": {"firstName": "Ada"},
        "amount": {"amountMicros": 12500000},
    }


def test_identity_mode_with_schema(people):
    mapper = Mapper([], people)
    record = {
        "name": {"firstName": "Ada", "lastName": ""},
        "emails.primaryEmail": " Ada@X.COM ",
        "companyId": ADA_ID,
        "city": 75001,
        "_airbyte_raw_id": "x",
    }
    assert mapper.map(record) == {
        "name": {"firstName": "Ada"},
        "emails": {"primaryEmail": "ada@x.com"},
        "companyId": ADA_ID,
        "city": "75001",
    }
    assert mapper.map({"name": {"firstName": None}}) == {}


def test_identity_mode_unknown_property_rejected(people):
    with pytest.raises(RecordRejected) as err:
        Mapper([], people).map({"city": "x", "company_size": 5})
    assert err.value.field == "company_size"
    assert (
        err.value.reason == 'Object person has no field "company_size"; closest: companyId, phones, position'
    )


def test_identity_mode_unknown_property_with_empty_value_is_ignored(people):
    assert Mapper([], people).map({"company_size": None, "city": "Paris"}) == {"city": "Paris"}


def test_dict_for_scalar_and_unknown_subfield_rejected(people):
    mapper = Mapper([], people)
    with pytest.raises(RecordRejected) as err:
        mapper.map({"jobTitle": {"a": 1}})
    assert (err.value.field, err.value.reason) == ("jobTitle", "expected text, got an object")
    with pytest.raises(RecordRejected) as err:
        mapper.map({"name": {"firstName": "John", "middleName": "Q"}})
    assert err.value.field == "name"
    assert (
        err.value.reason
        == 'field "name" (FULL_NAME) has no sub-field "middleName"; it has firstName, lastName'
    )
    with pytest.raises(RecordRejected, match="expects an object with primaryEmail, additionalEmails"):
        mapper.map({"emails": "ada@x.com"})


def test_reason_is_short_for_huge_values(people):
    reason = rejected(people, "companyId", "x" * 10_000)
    assert len(reason) < 200


# ---- type coercion ----


@pytest.mark.parametrize(
    "value, expected",
    [(10, 10), (10.5, 10.5), ("10", 10), (" 10.5 ", 10.5), ("1e3", 1000), ("-3.0", -3), (0, 0), ("", None)],
)
def test_number(companies, value, expected):
    result = one(companies, "employees", value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("value", ["ten", "10 people", True, float("nan"), float("inf"), [1], "1,000"])
def test_number_rejects(companies, value):
    assert "expected" in rejected(companies, "employees", value)


def test_number_reason_quotes_value(companies):
    assert rejected(companies, "employees", "ten") == (
        "expected a number (digits, optional sign and decimal point), got 'ten'"
    )


@pytest.mark.parametrize(
    "value, expected", [("12.50", "12.50"), (3, 3), (2.5, 2.5), (" 7 ", "7"), ("", None)]
)  # fmt: skip
def test_numeric(value, expected):
    assert one(CUSTOM, "weight", value) == expected


@pytest.mark.parametrize("value", ["abc", True, float("nan")])
def test_numeric_rejects(value):
    rejected(CUSTOM, "weight", value)


@pytest.mark.parametrize(
    "value, expected",
    [("x", "x"), (42, "42"), (42.0, "42"), (7.25, "7.25"), (True, "true"), ("", None), ("  ", "  ")],
)
def test_text(people, value, expected):
    assert one(people, "jobTitle", value) == expected


@pytest.mark.parametrize("value", [{"a": 1}, ["a"]])
def test_text_rejects_containers(people, value):
    rejected(people, "jobTitle", value)


@pytest.mark.parametrize(
    "value, expected",
    [(True, True), (False, False), ("yes", True), ("N", False), (" TRUE ", True), (0, False), (1, True),
     ("", None)],
)  # fmt: skip
def test_boolean(companies, value, expected):
    assert one(companies, "idealCustomerProfile", value) is expected


def test_boolean_rejects(companies):
    assert rejected(companies, "idealCustomerProfile", "maybe") == (
        "expected yes/no, y/n, true/false or 1/0, got 'maybe'"
    )


@pytest.mark.parametrize(
    "value, expected",
    [("MEETING", "MEETING"), ("meeting", "MEETING"), (" Meeting ", "MEETING"), ("Screening", "SCREENING"),
     ("new", "NEW"), ("", None)],
)  # fmt: skip
def test_select_case_insensitive(opportunities, value, expected):
    assert one(opportunities, "stage", value) == expected


def test_select_matches_label(tasks):
    assert one(tasks, "status", "In progress") == "IN_PROGRESS"
    assert one(tasks, "status", "to do") == "TODO"


def test_select_value_beats_another_options_label():
    assert one(CUSTOM, "kind", "busy") == "IN_PROGRESS"
    assert one(CUSTOM, "kind", "in_progress") == "IN_PROGRESS"


def test_select_rejects_listing_options(opportunities):
    assert rejected(opportunities, "stage", "won") == (
        "expected one of NEW, SCREENING, MEETING, PROPOSAL, CUSTOMER (or their labels, any case), got 'won'"
    )


def test_select_with_uppercase_transform(opportunities):
    assert one(opportunities, "stage", "proposal", "uppercase") == "PROPOSAL"


@pytest.mark.parametrize(
    "value, expected",
    [(["red", "Green"], ["RED", "GREEN"]), ("red, green", ["RED", "GREEN"]), ("RED", ["RED"]),
     ("red,,RED", ["RED"]), ("", None), ([], None)],
)  # fmt: skip
def test_multi_select(value, expected):
    assert one(CUSTOM, "tags", value) == expected


def test_multi_select_rejects_unknown_option():
    assert "expected one of RED, GREEN" in rejected(CUSTOM, "tags", ["red", "blue"])


@pytest.mark.parametrize(
    "value, expected",
    [
        ("RATING_3", "RATING_3"),
        ("rating_5", "RATING_5"),
        (1, "RATING_1"),
        ("4", "RATING_4"),
        (5.0, "RATING_5"),
    ],
)
def test_rating(value, expected):
    assert one(CUSTOM, "score", value) == expected


@pytest.mark.parametrize("value", [0, 6, "RATING_6", "good", True, 2.5])
def test_rating_rejects(value):
    rejected(CUSTOM, "score", value)


def test_uuid_and_join_columns(people):
    assert one(people, "companyId", f" {ADA_ID.upper()} ") == ADA_ID
    assert one(people, "id", ADA_ID) == ADA_ID
    for bad in ("not-a-uuid", "123e4567e89b42d3a456426614174000", 42, "{" + ADA_ID + "}"):
        assert rejected(people, "companyId", bad).startswith("expected a UUID")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-01-15T10:00:00.000Z", "2026-01-15T10:00:00.000Z"),
        ("2026-01-15T10:00:00Z", "2026-01-15T10:00:00.000Z"),
        ("2026-01-15", "2026-01-15T00:00:00.000Z"),
        ("2026-01-15T10:00", "2026-01-15T10:00:00.000Z"),
        ("2026-01-15 10:00:05", "2026-01-15T10:00:05.000Z"),
        ("2026-01-15T10:00:00+02:00", "2026-01-15T08:00:00.000Z"),
        ("2026-01-15T01:00:00-0500", "2026-01-15T06:00:00.000Z"),
        ("2026-01-15T23:30:00-01", "2026-01-16T00:30:00.000Z"),
        ("2026-01-15T10:00:00.123456789Z", "2026-01-15T10:00:00.123Z"),
        ("2024-02-29", "2024-02-29T00:00:00.000Z"),
        (" 2026-01-15 ", "2026-01-15T00:00:00.000Z"),
        # issue 10, item 5: what a warehouse sends and what Twenty's own parser (new Date(value)) takes
        ("2026-01-15 10:00:00.5", "2026-01-15T10:00:00.500Z"),  # naive: UTC
        ("2026-01-15t10:00:00z", "2026-01-15T10:00:00.000Z"),
        ("2026-01-15T10:00:00 UTC", "2026-01-15T10:00:00.000Z"),
        ("2026/01/15 10:00", "2026-01-15T10:00:00.000Z"),
        ("2026/1/5", "2026-01-05T00:00:00.000Z"),
        ("01/15/2026", "2026-01-15T00:00:00.000Z"),  # month first, as Twenty reads it
        ("Thu, 15 Jan 2026 10:00:00 GMT", "2026-01-15T10:00:00.000Z"),
        ("15 Jan 2026 10:00:00 +0100", "2026-01-15T09:00:00.000Z"),
        ("Jan 15, 2026", "2026-01-15T00:00:00.000Z"),
        ("January 15 2026 10:00 GMT+0200", "2026-01-15T08:00:00.000Z"),
        (1768471200, "2026-01-15T10:00:00.000Z"),  # epoch seconds
        (1768471200.25, "2026-01-15T10:00:00.250Z"),
        (1768471200000, "2026-01-15T10:00:00.000Z"),  # epoch milliseconds, from 10^11 on
        (0, "1970-01-01T00:00:00.000Z"),
        (-86400, "1969-12-31T00:00:00.000Z"),
        # years before 1000 keep four digits (strftime wrote 999-...)
        ("0999-03-04T05:06:07Z", "0999-03-04T05:06:07.000Z"),
        ("0001-01-01", "0001-01-01T00:00:00.000Z"),
    ],
)
def test_date_time(tasks, value, expected):
    assert one(tasks, "dueAt", value) == expected


@pytest.mark.parametrize(
    "value", ["15/01/2026", "not a date", "2026-02-30", "2025-02-29", "2026-13-01", "2026-01-15T25:00:00Z",
              "Smarch 15, 2026", "2026-01-15T10:00:00+24:00", "999-01-01", "12026-01-01", "20260115", True,
              10**20, float("nan"), float("inf"), "0001-01-01T00:00:00+01:00", [2026, 1, 15]]
)  # fmt: skip
def test_date_time_rejects_with_expected_format(tasks, value):
    reason = rejected(tasks, "dueAt", value)
    assert reason.startswith(
        "expected a date-time such as 2026-01-15T10:00:00Z, 2026-01-15 10:00:00 (UTC) or 2026-01-15, "
        "or epoch seconds or milliseconds, got "
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-01-15", "2026-01-15"),
        ("2026-01-15T23:00:00-05:00", "2026-01-15"),  # the calendar date as written
        ("2026-01-15 23:59:59", "2026-01-15"),
        ("Jan 15, 2026", "2026-01-15"),
        (1768521599, "2026-01-15"),  # epoch numbers are read in UTC
        (1768521600000, "2026-01-16"),
        ("0999-12-31", "0999-12-31"),
        ("", None),
    ],
)
def test_date(value, expected):
    assert one(CUSTOM, "born", value) == expected


@pytest.mark.parametrize("value", ["15/01/2026", "2026-02-30", "20260115", False, 10**20])
def test_date_rejects(value):
    assert rejected(CUSTOM, "born", value).startswith("expected a date such as 2026-01-15 (YYYY-MM-DD)")


def test_emails(people):
    assert one(people, "emails.primaryEmail", "  Ada@Example.COM ") == "ada@example.com"
    assert one(people, "emails.additionalEmails", "A@x.com, b@X.com,") == ["a@x.com", "b@x.com"]
    assert one(people, "emails.additionalEmails", ["C@x.com", ""]) == ["c@x.com"]
    assert one(people, "emails.additionalEmails", " , ") is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://Acme.COM/", "https://acme.com"),
        ("HTTPS://WWW.Acme.com/Path/To/", "https://www.acme.com/Path/To"),
        ("Acme.com/", "acme.com"),
        ("Acme.com/Careers", "acme.com/Careers"),
        ("  acme.com  ", "acme.com"),
        ("http://acme.com:8080/?q=A", "http://acme.com:8080/?q=A"),
    ],
)
def test_links(companies, value, expected):
    assert one(companies, "domainName.primaryLinkUrl", value) == expected
    assert normalize_url(value) == expected


def test_secondary_links(companies):
    assert one(companies, "linkedinLink.secondaryLinks", ["https://X.com/"]) == [
        {"url": "https://x.com", "label": ""}
    ]
    assert one(companies, "linkedinLink.secondaryLinks", [{"url": "https://Y.com/", "label": "y"}]) == [
        {"url": "https://y.com", "label": "y"}
    ]


def test_phones():
    assert one(CUSTOM, "phones.primaryPhoneNumber", "+33 6 12 34 56 78") == "612345678"
    assert one(CUSTOM, "phones.primaryPhoneCountryCode", " fr ") == "FR"


def phones(mapping, data, schema=CUSTOM, country=None):
    return Mapper([cm(c, f) for c, f in mapping], schema, phone_country=country).map(data)["phones"]


def phone_rejected(mapping, data, schema=CUSTOM, country=None):
    with pytest.raises(RecordRejected) as err:
        Mapper([cm(c, f) for c, f in mapping], schema, phone_country=country).map(data)
    return err.value


NUMBER = [("tel", "phones.primaryPhoneNumber")]


@pytest.mark.parametrize("schema", [CUSTOM, None])
@pytest.mark.parametrize(
    "tel, country, expected",
    [
        # issue 10, item 4: faker's telephone values, refused by Twenty as sent
        ("242.450.4284", "US", ("2424504284", "BS", "+1")),  # 242 is the Bahamas' area code
        ("1-148-789-3272", "US", ("487893272", "US", "+1")),
        ("(212) 555-0199", "US", ("2125550199", "US", "+1")),
        ("+33 6 12 34 56 78", "US", ("612345678", "FR", "+33")),  # a + wins over the default
        ("06 12 34 56 78", "FR", ("612345678", "FR", "+33")),
        ("+39 06 1234 5678", None, ("0612345678", "IT", "+39")),
        (612345678, "FR", ("612345678", "FR", "+33")),
    ],
)
def test_phone_numbers_are_parsed_into_number_country_and_calling_code(schema, tel, country, expected):
    got = phones(NUMBER, {"tel": tel}, schema, country)
    assert (
        got["primaryPhoneNumber"],
        got["primaryPhoneCountryCode"],
        got["primaryPhoneCallingCode"],
    ) == expected


def test_a_mapped_country_or_calling_code_reads_numbers_without_plus():
    mapping = [*NUMBER, ("cc", "phones.primaryPhoneCountryCode")]
    assert (
        phones(mapping, {"tel": "06 12 34 56 78", "cc": "fr"}, country="US")["primaryPhoneCountryCode"]
        == "FR"
    )
    mapping = [*NUMBER, ("calling", "phones.primaryPhoneCallingCode")]
    got = phones(mapping, {"tel": "020 7946 0958", "calling": "44"})
    assert (got["primaryPhoneNumber"], got["primaryPhoneCountryCode"], got["primaryPhoneCallingCode"]) == (
        "2079460958",
        "GB",
        "+44",
    )


def test_a_whole_phones_field_takes_a_bare_number_or_an_object():
    assert phones([("tel", "phones")], {"tel": "+1 212 555 0199"})["primaryPhoneNumber"] == "2125550199"
    got = phones(
        [("p", "phones")], {"p": {"primaryPhoneNumber": "612345678", "primaryPhoneCountryCode": "FR"}}
    )
    assert got["primaryPhoneCallingCode"] == "+33"


def test_additional_phones_are_parsed_too():
    got = phones(
        [("more", "phones.additionalPhones")], {"more": "+33 6 12 34 56 78; (212) 555-0199"}, country="US"
    )
    assert got["additionalPhones"] == [
        {"number": "612345678", "countryCode": "FR", "callingCode": "+33"},
        {"number": "2125550199", "countryCode": "US", "callingCode": "+1"},
    ]
    got = phones(
        [("more", "phones.additionalPhones")], {"more": [{"number": "0612345678", "countryCode": "FR"}]}
    )
    assert got["additionalPhones"] == [{"number": "612345678", "countryCode": "FR", "callingCode": "+33"}]


@pytest.mark.parametrize(
    "mapping, data, country, field, words",
    [
        (NUMBER, {"tel": "abc"}, "US", "phones.primaryPhoneNumber", ["'abc'"]),
        (
            NUMBER,
            {"tel": "242.450.4284"},
            None,
            "phones.primaryPhoneNumber",
            ["'242.450.4284'", "default_phone_country"],
        ),
        (NUMBER, {"tel": "+999 123"}, None, "phones.primaryPhoneNumber", ["'+999 123'"]),
        (NUMBER, {"tel": ["+33612345678"]}, None, "phones.primaryPhoneNumber", ["a list"]),
        (
            [*NUMBER, ("cc", "phones.primaryPhoneCountryCode")],
            {"tel": "+44 20 7946 0958", "cc": "FR"},
            None,
            "phones.primaryPhoneNumber",
            ["belongs to GB", "FR"],
        ),
        (
            [*NUMBER, ("cc", "phones.primaryPhoneCountryCode")],
            {"tel": "0612345678", "cc": "XX"},
            None,
            "phones.primaryPhoneCountryCode",
            ["'XX'"],
        ),
        (
            [*NUMBER, ("calling", "phones.primaryPhoneCallingCode")],
            {"tel": "+44 20 7946 0958", "calling": "+33"},
            None,
            "phones.primaryPhoneNumber",
            ["+44", "+33"],
        ),
        (
            [("more", "phones.additionalPhones")],
            {"more": ["nope"]},
            "US",
            "phones.additionalPhones",
            ["'nope'"],
        ),
    ],
)
def test_a_phone_that_cannot_be_parsed_rejects_the_record_naming_field_and_value(
    mapping, data, country, field, words
):
    for schema in (CUSTOM, None):
        err = phone_rejected(mapping, data, schema, country)
        assert err.field == field
        for word in words:
            assert word in err.reason, err.reason


def test_currency(opportunities):
    mapper = Mapper([cm("amt", "amount.amountMicros"), cm("cur", "amount.currencyCode")], opportunities)
    assert mapper.map({"amt": 49.99, "cur": "eur"}) == {
        "amount": {"amountMicros": 49990000, "currencyCode": "EUR"}
    }
    assert mapper.map({"amt": "", "cur": ""}) == {}
    assert mapper.map({"amt": 0}) == {"amount": {"amountMicros": 0}}
    with pytest.raises(RecordRejected) as err:
        mapper.map({"amt": "1,000"})
    assert err.value.field == "amount.amountMicros"
    with pytest.raises(RecordRejected) as err:
        mapper.map({"amt": 1, "cur": "US Dollar"})
    assert err.value.field == "amount.currencyCode"
    assert err.value.reason == (
        "expected a 3-letter ISO 4217 currency code such as USD or EUR, got 'US Dollar'"
    )


def test_amount_micros_after_transforms(opportunities):
    assert one(opportunities, "amount.amountMicros", "7.5", "round_int") == 8_000_000
    assert one(opportunities, "amount.amountMicros", "-", "null_if:-") is None


def test_whole_currency_dict(opportunities):
    assert Mapper([], opportunities).map({"amount": {"amountMicros": "12.5", "currencyCode": "usd"}}) == {
        "amount": {"amountMicros": 12500000, "currencyCode": "USD"}
    }


def test_address(companies):
    mapper = Mapper([cm("zip", "address.addressPostcode"), cm("lat", "address.addressLat")], companies)
    assert mapper.map({"zip": 75001, "lat": "48.8559"}) == {
        "address": {"addressPostcode": "75001", "addressLat": 48.8559}
    }
    with pytest.raises(RecordRejected) as err:
        mapper.map({"lat": "north"})
    assert err.value.field == "address.addressLat"


def test_rich_text(tasks):
    assert one(tasks, "bodyV2", "# Hi") == {"markdown": "# Hi"}
    assert one(tasks, "bodyV2.markdown", "# Hi") == "# Hi"
    assert one(tasks, "bodyV2", "") is None
    assert one(CUSTOM, "notes", "text") == {"markdown": "text"}
    with pytest.raises(RecordRejected):
        Mapper([], tasks).map({"bodyV2": {"html": "<p>"}})


@pytest.mark.parametrize(
    "value, expected", [({"a": 1}, {"a": 1}), ([1, 2], [1, 2]), ('{"a":1}', '{"a":1}'), ({}, None)]
)  # fmt: skip
def test_raw_json(value, expected):
    assert one(CUSTOM, "extra", value) == expected


def test_raw_json_rejects_scalar():
    rejected(CUSTOM, "extra", 5)


@pytest.mark.parametrize(
    "value, expected", [("rex", ["rex"]), (["a", 2, None, ""], ["a", "2"]), ([], None)]
)  # fmt: skip
def test_array(value, expected):
    assert one(CUSTOM, "aliases", value) == expected


def test_unknown_type_passes_through():
    assert one(CUSTOM, "files", {"addFiles": []}) == {"addFiles": []}


def test_position_is_a_number(people):
    assert one(people, "position", "3") == 3


# ---- unique keys ----


def test_unique_keys_with_schema(people, companies):
    payload = {"id": ADA_ID.upper(), "emails": {"primaryEmail": " Ada@X.com"}, "name": {"firstName": "Ada"}}
    assert unique_keys(payload, people) == [("id", ADA_ID), ("emails.primaryEmail", "ada@x.com")]
    assert unique_keys({"domainName": {"primaryLinkUrl": "https://Acme.com/"}}, companies) == [
        ("domainName.primaryLinkUrl", "https://acme.com")
    ]
    assert unique_keys({"name": "Acme", "domainName": {"primaryLinkLabel": "x"}}, companies) == []


def test_unique_keys_without_schema():
    payload = {"emails": {"primaryEmail": "B@Y.com"}, "domainName": {"primaryLinkUrl": "Acme.com/"}}
    assert unique_keys(payload, None) == [
        ("emails.primaryEmail", "b@y.com"),
        ("domainName.primaryLinkUrl", "acme.com"),
    ]
    assert unique_keys({"emails": {"primaryEmail": ""}}, None) == []


def test_unique_keys_match_after_mapping(people):
    mapper = Mapper([cm("e", "emails.primaryEmail")], people)
    first = unique_keys(mapper.map({"e": "ADA@x.com"}), people)
    second = unique_keys(mapper.map({"e": " ada@X.COM"}), people)
    assert first == second == [("emails.primaryEmail", "ada@x.com")]


@given(st.text(alphabet="abcXYZ:/.-", max_size=30))
def test_normalize_url_is_idempotent(url):
    once = normalize_url(url)
    assert normalize_url(once) == once


@pytest.mark.parametrize("schema_name", ["companies", None])
@pytest.mark.parametrize("url", ["https://[::1", "http://[::1/x", "https://a.example:99999"])
def test_a_malformed_link_rejects_the_record_naming_field_and_value(request, schema_name, url):
    schema = request.getfixturevalue(schema_name) if schema_name else None
    reason = rejected(schema, "domainName.primaryLinkUrl", url)
    assert url in reason and "link" in reason
    with pytest.raises(RecordRejected) as err:
        Mapper([], schema).map({"domainName": {"primaryLinkUrl": url}})
    assert err.value.field == "domainName" and url in err.value.reason


def test_secondary_links_are_checked_too(companies):
    reason = rejected(companies, "domainName.secondaryLinks", ["https://ok.example", "https://[::1"])
    assert "https://[::1" in reason
