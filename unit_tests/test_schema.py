import json

import pytest

from destination_twenty.mapping.schema import (
    COMPOSITE_SUBFIELDS,
    FieldInfo,
    ObjectSchema,
    UnknownField,
    find_object,
    object_names,
)


def test_composite_subfields():
    assert COMPOSITE_SUBFIELDS["FULL_NAME"] == ("firstName", "lastName")
    assert COMPOSITE_SUBFIELDS["EMAILS"] == ("primaryEmail", "additionalEmails")
    assert COMPOSITE_SUBFIELDS["LINKS"] == ("primaryLinkLabel", "primaryLinkUrl", "secondaryLinks")
    assert COMPOSITE_SUBFIELDS["CURRENCY"] == ("amountMicros", "currencyCode")
    assert "addressPostcode" in COMPOSITE_SUBFIELDS["ADDRESS"]
    assert "addressZipCode" not in COMPOSITE_SUBFIELDS["ADDRESS"]
    assert (
        COMPOSITE_SUBFIELDS["RICH_TEXT"] == COMPOSITE_SUBFIELDS["RICH_TEXT_V2"] == ("blocknote", "markdown")
    )
    assert set(COMPOSITE_SUBFIELDS) == {
        "FULL_NAME", "EMAILS", "LINKS", "PHONES", "CURRENCY", "ADDRESS", "ACTOR", "RICH_TEXT_V2", "RICH_TEXT",
    }  # fmt: skip


def test_find_object_and_names(objects):
    assert find_object(objects, "pets") is None
    assert find_object(objects, "person") is None  # singular is not the REST path
    assert object_names(objects) == [
        "companies", "noteTargets", "notes", "opportunities", "people", "taskTargets", "tasks",
    ]  # fmt: skip
    inactive = [{**objects[0], "isActive": False}]
    assert find_object(inactive, "people") is None
    assert object_names(inactive) == []


def test_from_metadata_people(people):
    assert (people.name_singular, people.name_plural) == ("person", "people")
    assert people.fields["name"] == FieldInfo(name="name", type="FULL_NAME", nullable=True, label="Name")
    assert people.fields["id"].is_system and not people.fields["id"].nullable
    assert people.fields["company"].relation_type == "MANY_TO_ONE"
    assert people.fields["taskTargets"].relation_type == "ONE_TO_MANY"


def test_select_options_and_labels(objects):
    stage = find_object(objects, "opportunities").fields["stage"]
    assert stage.options == ("NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER")
    assert stage.option_labels[:2] == ("New", "Screening")
    assert stage.nullable is False


def test_inactive_fields_are_dropped(objects):
    person = json.loads(json.dumps(find_object_raw(objects, "people")))
    for field in person["fields"]:
        if field["name"] == "city":
            field["isActive"] = False
    schema = ObjectSchema.from_metadata(person)
    assert "city" not in schema.fields
    assert schema.writable("city") is None


def find_object_raw(objects, plural):
    return next(o for o in objects if o["namePlural"] == plural)


@pytest.mark.parametrize(
    "name, expected_type",
    [("jobTitle", "TEXT"), ("emails", "EMAILS"), ("companyId", "UUID"), ("position", "POSITION"), ("id", "UUID"),
     ("createdBy", "ACTOR")],
)  # fmt: skip
def test_writable(people, name, expected_type):
    assert people.writable(name).type == expected_type


def test_join_column(people):
    assert people.writable("companyId") == FieldInfo(
        name="companyId", type="UUID", nullable=True, relation_type="MANY_TO_ONE", label="Company"
    )


@pytest.mark.parametrize(
    "name",
    ["company", "taskTargets", "pointOfContactForOpportunities", "searchVector", "createdAt", "updatedAt",
     "deletedAt", "nope", "taskTargetsId", "jobTitleId"],
)  # fmt: skip
def test_not_writable(people, name):
    assert people.writable(name) is None


def test_resolve(people):
    assert people.resolve("name.firstName") == (people.fields["name"], "firstName")
    assert people.resolve("jobTitle") == (people.fields["jobTitle"], None)
    assert people.resolve("companyId")[0].type == "UUID"
    assert people.resolve("emails")[1] is None


def test_resolve_unknown_field_names_closest(people):
    with pytest.raises(UnknownField) as err:
        people.resolve("company_size")
    assert str(err.value) == 'Object person has no field "company_size"; closest: companyId, phones, position'


def test_resolve_unknown_subfield(people):
    with pytest.raises(UnknownField) as err:
        people.resolve("name.middleName")
    assert (
        str(err.value) == 'Field "name" (FULL_NAME) has no sub-field "middleName"; it has firstName, lastName'
    )


def test_resolve_subfield_of_scalar(companies):
    with pytest.raises(
        UnknownField, match=r'^Field "name" \(TEXT\) has no sub-fields; map to "name" itself$'
    ):
        companies.resolve("name.firstName")


def test_resolve_relation_points_to_join_column(people):
    with pytest.raises(UnknownField, match=r'join column "companyId"'):
        people.resolve("company")
    with pytest.raises(UnknownField, match=r"Twenty sets it itself"):
        people.resolve("createdAt")


def test_unknown_field_is_a_key_error():
    assert issubclass(UnknownField, KeyError)


def test_closest(people, companies):
    assert people.closest("email") == ["emails", "companyId", "jobTitle"]
    assert people.closest("JOBTITLE", n=1) == ["jobTitle"]
    assert companies.closest("employee", n=1) == ["employees"]


def test_unique_paths(objects, people, companies):
    assert people.unique_paths == ("id", "emails.primaryEmail")
    assert companies.unique_paths == ("id", "domainName.primaryLinkUrl")
    assert find_object(objects, "opportunities").unique_paths == ("id",)
    assert find_object(objects, "tasks").unique_paths == ("id",)


def test_unique_paths_from_is_unique():
    fields = [
        {"name": "id", "type": "UUID", "isActive": True},
        {"name": "code", "type": "TEXT", "isActive": True, "isUnique": True},
        {"name": "workEmails", "type": "EMAILS", "isActive": True, "isUnique": True},
        {"name": "site", "type": "LINKS", "isActive": True, "isUnique": True},
        {"name": "mobile", "type": "PHONES", "isActive": True, "isUnique": True},
        {"name": "owner", "type": "FULL_NAME", "isActive": True, "isUnique": True},
        {"name": "old", "type": "TEXT", "isActive": False, "isUnique": True},
        {"name": "plain", "type": "TEXT", "isActive": True, "isUnique": False},
    ]
    schema = ObjectSchema.from_metadata({"nameSingular": "pet", "namePlural": "pets", "fields": fields})
    assert schema.unique_paths == (
        "id", "code", "workEmails.primaryEmail", "site.primaryLinkUrl", "mobile.primaryPhoneNumber",
    )  # fmt: skip


def test_older_relation_metadata_shapes():
    fields = [
        {"name": "owner", "type": "RELATION", "settings": {"relationType": "MANY_TO_ONE"}},
        {"name": "pets", "type": "RELATION", "relationDefinition": {"direction": "ONE_TO_MANY"}},
    ]
    schema = ObjectSchema.from_metadata({"nameSingular": "x", "namePlural": "xs", "fields": fields})
    assert schema.writable("ownerId").type == "UUID"
    assert schema.writable("petsId") is None
