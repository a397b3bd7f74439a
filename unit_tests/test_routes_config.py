"""The `streams` key: a route per stream, validated with sentences naming the entry at fault."""

from __future__ import annotations

import jsonschema
import pytest

from destination_twenty.config import Route, TwentyConfig, default_route, route_for, spec
from destination_twenty.errors import ConfigError
from destination_twenty.write.routes import plan_routes

KEY = "k" * 40


def _config(**raw):
    return TwentyConfig.from_mapping({"api_key": KEY, **raw})


def test_a_config_without_streams_has_only_the_default_route():
    config = _config(mode="people", upsert=False)
    assert config.streams == ()
    route = route_for(config, "anything", "ns")
    assert route == default_route(config)
    assert (route.object_path, route.operation, route.stream) == ("people", "create", None)


def test_a_named_stream_gets_its_route_and_the_others_the_default():
    config = _config(
        mode="people",
        streams=[
            {"stream": "accounts", "mode": "companies"},
            {"stream": "deals", "mode": "opportunities", "operation": "update"},
            {"stream": "deals", "namespace": "crm", "mode": "custom", "custom_object": "deals"},
        ],
    )
    assert route_for(config, "accounts", None).object_path == "companies"
    assert route_for(config, "accounts", None).operation == "upsert"  # upsert defaults to true
    assert route_for(config, "deals", "other").operation == "update"  # no namespace: any namespace
    assert route_for(config, "deals", "crm").object_path == "deals"  # the namespace is more specific
    assert route_for(config, "contacts", None).object_path == "people"


def test_operation_defaults_to_create_when_upsert_is_off():
    config = _config(mode="people", upsert=False, streams=[{"stream": "a", "mode": "companies"}])
    assert config.streams[0].operation == "create"


def test_mode_stays_required_as_the_route_of_every_other_stream():
    with pytest.raises(ConfigError, match="mode must be one of"):
        TwentyConfig.from_mapping({"api_key": KEY, "streams": [{"stream": "a", "mode": "companies"}]})


def test_a_stream_nothing_covers_is_refused_before_any_write():
    # Only a config built in code can lack the default route (the spec requires mode).
    config = TwentyConfig(api_key=KEY, mode="", streams=(Route("a", None, "companies"),))
    assert route_for(config, "a", None) is not None and route_for(config, "b", None) is None
    with pytest.raises(ConfigError, match="No route covers stream 'b'"):
        plan_routes(config, [("a", None), ("b", None)], None)


@pytest.mark.parametrize(
    ("streams", "words"),
    [
        ("people", "streams must be a list"),
        ([{"mode": "people"}], "streams[0].stream"),
        ([{"stream": "a"}], "streams[0] (stream 'a').mode"),
        ([{"stream": "a", "mode": "people", "operation": "merge"}], "operation must be one of"),
        ([{"stream": "a", "mode": "people", "on_source_delete": "destroy"}], "on_source_delete"),
        ([{"stream": "a", "mode": "custom"}], "custom_object"),
        ([{"stream": "a", "mode": "people", "colum_mapping": []}], "did you mean column_mapping"),
        ([{"stream": "a", "mode": "people"}, {"stream": "a", "mode": "companies"}], "repeats streams[0]"),
        (
            [{"stream": "a", "mode": "people", "column_mapping": [{"column": "x"}]}],
            "streams[0] (stream 'a'): column_mapping[0].field",
        ),
    ],
)
def test_a_bad_route_is_refused_naming_it(streams, words):
    with pytest.raises(ConfigError) as caught:
        _config(mode="people", streams=streams)
    assert words in str(caught.value)


def test_the_spec_shows_routes_as_an_array_of_objects_and_accepts_them():
    connection = spec()["connectionSpecification"]
    streams = connection["properties"]["streams"]
    assert streams["type"] == "array" and streams["items"]["type"] == "object"
    assert set(streams["items"]["properties"]) == {
        "stream",
        "namespace",
        "mode",
        "custom_object",
        "column_mapping",
        "operation",
        "on_source_delete",
    }
    good = {
        "api_key": KEY,
        "mode": "people",
        "streams": [{"stream": "a", "mode": "companies", "operation": "delete"}],
    }
    jsonschema.validate(good, connection)
    bad = {**good, "streams": [{"stream": "a", "mode": "companies", "operation": "merge"}]}
    assert not jsonschema.Draft7Validator(connection).is_valid(bad)


def test_route_properties():
    route = Route(stream="a", namespace="n", mode="companies", operation="create")
    assert (route.name, route.upsert, route.object_path) == ("n.a", False, "companies")
