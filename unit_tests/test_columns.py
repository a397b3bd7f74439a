import pytest

from destination_twenty.config import ColumnMap
from destination_twenty.errors import ConfigError
from destination_twenty.mapping.columns import check_columns, column_reader

USER = {
    "id": 7,
    "address": {"city": "Lyon", "geo": {"lat": 45.7}},
    "tags": ["a", {"name": "b"}],
    "address.city": None,
}


@pytest.mark.parametrize(
    "column, expected",
    [
        ("id", 7),
        ("address.geo.lat", 45.7),
        ("tags.0", "a"),
        ("tags.1.name", "b"),
        ("tags.2", None),
        ("tags.x", None),
        ("id.x", None),
        ("nope.deeper", None),
        ("tags.٠", None),  # an Arabic-Indic zero is not an index
    ],
)
def test_a_dotted_column_reads_nested_objects_and_array_items(column, expected):
    assert column_reader(column)(USER) == expected


def test_a_key_that_literally_holds_the_dot_wins_when_present():
    assert column_reader("address.city")(USER) is None  # the literal key is there, and empty
    assert column_reader("address.city")({"address": {"city": "Lyon"}}) == "Lyon"
    assert column_reader("address.city")({"address.city": "Paris", "address": {"city": "Lyon"}}) == "Paris"


def catalog(*schemas, names=None):
    return {
        "streams": [
            {
                "stream": {
                    "name": (names or [f"s{i}" for i in range(len(schemas))])[i],
                    "json_schema": schema,
                    "supported_sync_modes": ["full_refresh"],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append",
            }
            for i, schema in enumerate(schemas)
        ]
    }


USERS = {
    "type": "object",
    "properties": {
        "email": {"type": ["null", "string"]},
        "address": {"type": ["null", "object"], "properties": {"city": {"type": "string"}, "state": {}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "extra": {"type": "object"},
        "either": {
            "anyOf": [{"type": "string"}, {"type": "object", "properties": {"x": {"type": "string"}}}]
        },
        "a.b": {"type": "string"},
    },
}


def cols(*columns):
    return [ColumnMap(column=c, field="city") for c in columns]


def test_listed_columns_nested_paths_and_open_objects_pass():
    mapping = cols(
        "email", "address.city", "tags.0.name", "tags.3", "extra.anything.below", "either.x", "a.b"
    )
    assert check_columns(catalog(USERS), mapping) == []


@pytest.mark.parametrize(
    "column, closest",
    [
        ("emial", "email"),
        ("adress.city", "address.city"),
        ("address.town", "address.city"),
        ("tags.first", "tags.0"),
        ("email.domain", "email"),
        ("either.y", "either"),
    ],
)
def test_a_column_no_stream_has_is_a_config_error_naming_column_stream_and_closest(column, closest):
    with pytest.raises(ConfigError) as err:
        check_columns(catalog(USERS, names=["users"]), cols("email", column))
    message = str(err.value)
    assert f'column_mapping[1].column "{column}"' in message
    assert "stream 'users'" in message
    assert closest in message.split("closest: ")[1]
    assert "column_mapping[0]" not in message


def test_a_column_one_stream_has_is_enough():
    other = {"type": "object", "properties": {"telephone": {"type": "string"}}}
    assert check_columns(catalog(USERS, other), cols("telephone", "email")) == []


def test_a_stream_without_listed_properties_gets_a_warning_instead():
    (warning,) = check_columns(catalog({"type": "object"}, names=["raw"]), cols("whatever"))
    assert "Stream 'raw' lists no properties" in warning
    warnings = check_columns(catalog(USERS, {"type": "object"}, names=["users", "raw"]), cols("emial"))
    assert len(warnings) == 2 and '"emial"' in warnings[1] and "'raw'" in warnings[1]


def test_no_mapping_means_nothing_to_check():
    assert check_columns(catalog({"type": "object"}), []) == []
