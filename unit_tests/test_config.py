"""Config parsing: every bad value is named with the key at fault; good values come out typed."""

import pytest

from destination_twenty.config import ColumnMap, TwentyConfig, normalize_api_url
from destination_twenty.errors import ConfigError

BASE = {"api_key": "unit-test-key-0123456789", "mode": "people"}


def test_defaults_match_the_spec():
    config = TwentyConfig.from_mapping(BASE)
    assert config.api_url == "https://api.twenty.com"
    assert (config.upsert, config.partial_success, config.batch_size, config.requests_per_minute) == (
        True,
        False,
        200,
        100,
    )
    assert (config.max_concurrent_requests, config.max_retry_seconds) == (4, 300.0)
    assert config.column_mapping == ()
    assert config.object_path == "people"
    assert config.rest_url == "https://api.twenty.com/rest"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://crm.example.com/", "https://crm.example.com"),
        ("https://crm.example.com/rest", "https://crm.example.com"),
        ("https://crm.example.com/rest/", "https://crm.example.com"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("https://example.com/twenty", "https://example.com/twenty"),
        ("", "https://api.twenty.com"),
    ],
)
def test_api_url_tolerates_a_trailing_slash_or_rest(url, expected):
    assert normalize_api_url(url) == expected


@pytest.mark.parametrize(
    "url", ["api.twenty.com", "ftp://x.example", "https://", "https://x.example?a=1", 42, "http://x:99999"]
)
def test_bad_api_urls_are_config_errors(url):
    with pytest.raises(ConfigError, match="api_url"):
        normalize_api_url(url)


def test_custom_mode_needs_a_plain_object_name():
    assert (
        TwentyConfig.from_mapping({**BASE, "mode": "custom", "custom_object": "pets"}).object_path == "pets"
    )
    for bad in (None, "", "../people", "pets/1", "pets?x=1", "1pets", "pets%2F", "my-pets"):
        with pytest.raises(ConfigError, match="custom_object"):
            TwentyConfig.from_mapping({**BASE, "mode": "custom", "custom_object": bad})


@pytest.mark.parametrize(
    "change, key",
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": 123}, "api_key"),
        ({"api_key": "1"}, "api_key"),  # issue 8, item 14: too short to be a key (Twenty's are JWTs)
        ({"api_key": "  fifteen-chars  "}, "api_key"),
        ({"mode": "leads"}, "mode"),
        ({"mode": None}, "mode"),
        ({"upsert": "yes"}, "upsert"),
        ({"partial_success": 1}, "partial_success"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 201}, "batch_size"),
        ({"batch_size": "60"}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"max_concurrent_requests": 17}, "max_concurrent_requests"),
        ({"max_retry_seconds": -1}, "max_retry_seconds"),
        ({"column_mapping": {"a": "b"}}, "column_mapping"),
        ({"column_mapping": [{"column": "a"}]}, r"column_mapping\[0\].field"),
        ({"column_mapping": [{"column": "", "field": "x"}]}, r"column_mapping\[0\].column"),
        (
            {"column_mapping": [{"column": "a", "field": "x", "transforms": "trim"}]},
            r"column_mapping\[0\].transforms",
        ),
        ({"column_mapping": [{"column": "a", "field": "name."}]}, r"column_mapping\[0\].field"),
    ],
)
def test_each_bad_value_names_its_key(change, key):
    with pytest.raises(ConfigError, match=key):
        TwentyConfig.from_mapping({**BASE, **change})


def test_the_key_is_not_in_the_repr():
    config = TwentyConfig.from_mapping({**BASE, "api_key": "sekret-value-0123456789"})
    assert "sekret-value-0123456789" not in repr(config)


def test_column_mapping_is_typed():
    config = TwentyConfig.from_mapping(
        {
            **BASE,
            "column_mapping": [{"column": "e", "field": "emails.primaryEmail", "transforms": ["lowercase"]}],
        }
    )
    assert config.column_mapping == (ColumnMap("e", "emails.primaryEmail", ("lowercase",)),)


def test_not_a_mapping():
    with pytest.raises(ConfigError):
        TwentyConfig.from_mapping(["not", "a", "dict"])
