"""config.py is the one validation of a config (check and write alike, issue 19 item 7): whatever spec.json's JSON
schema refuses, it refuses too, with a sentence naming the key. Every property of the spec is tried with values of
every JSON type and with the edge values its constraints name.

One leniency is on purpose: null (and an empty api_url) means "not set", the default, as a form leaves an optional
field the user never filled in."""

import itertools

import jsonschema
import pytest

from destination_twenty.config import MAPPING_KEYS, TwentyConfig, spec
from destination_twenty.errors import ConfigError
from destination_twenty.mapping.mapper import Mapper

SCHEMA = spec()["connectionSpecification"]
VALID = {"api_key": "k" * 40, "mode": "people"}
VALUES = [None, True, 0, -1, 1.5, 10**30, "", " ", "x", "a/b", "people\n", [], ["x"], {}, {"x": 1}]
MAPPING_VALUES = [*VALUES, [7], ["shout"], ["trim", 3], "transforms"]


def refused_by_schema(config) -> bool:
    return not jsonschema.Draft7Validator(SCHEMA).is_valid(config)


def refused_by_connector(config) -> bool:
    """config.py's validation, and the mapper's reading of the transforms it lets through (both run before any
    request, in check and write alike)."""
    try:
        parsed = TwentyConfig.from_mapping(config)
        Mapper(parsed.column_mapping)
    except ConfigError:
        return True
    return False


def _without_unset(config):
    """The config as the connector reads it: a null key, or an empty api_url, is not set."""
    kept = {k: v for k, v in config.items() if v is not None and not (k == "api_url" and v == "")}
    if isinstance(kept.get("column_mapping"), list):
        kept["column_mapping"] = [
            {k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m
            for m in kept["column_mapping"]
        ]
    return kept


def top_level_cases():
    for key, value in itertools.product(SCHEMA["properties"], VALUES):
        yield {**VALID, key: value}


def mapping_cases():
    entry = {"column": "c", "field": "city"}
    for key, value in itertools.product((*MAPPING_KEYS, "transform", "colum"), MAPPING_VALUES):
        yield {**VALID, "column_mapping": [{**entry, key: value}]}
    for value in VALUES:
        yield {**VALID, "column_mapping": [value]}


@pytest.mark.parametrize("config", [*top_level_cases(), *mapping_cases()], ids=repr)
def test_what_the_spec_refuses_the_connector_refuses(config):
    if refused_by_schema(_without_unset(config)):
        assert refused_by_connector(config)


def test_a_valid_config_and_an_extra_top_level_key_pass_both():
    for config in (VALID, {**VALID, "platform_added": {"x": 1}}):
        assert not refused_by_schema(config) and not refused_by_connector(config)
