"""The configured catalog is read as JSON (no CDK models): what we use is checked, with a sentence for each."""

import pytest

from destination_twenty.airbyte.commands import check_catalog, check_retry_seconds
from destination_twenty.errors import ConfigError


def stream(name="people", mode="append_dedup", **extra):
    return {
        "stream": {"name": name, "json_schema": {}, **extra.pop("stream", {})},
        "destination_sync_mode": mode,
        **extra,
    }


def test_primary_keys_per_stream_namespaced_as_the_writer_names_them():
    catalog = {
        "streams": [
            stream(primary_key=[["email"], ["a", "b"], []]),
            stream(stream={"namespace": "eu"}, mode="append"),
        ]
    }
    # The first stream's mode is the helper's default (append_dedup): one Twenty record per primary key there.
    assert check_catalog(catalog) == ({"people": [["email"], ["a", "b"]], "eu.people": []}, {"people"})


@pytest.mark.parametrize(
    "catalog, says",
    [
        ({}, "no list of streams"),
        ({"streams": []}, "no streams"),
        ({"streams": [{"destination_sync_mode": "append"}]}, "streams[0] has no stream with a name"),
        ({"streams": [stream(mode="bogus")]}, "streams[0].destination_sync_mode must be one of"),
        ({"streams": [stream(mode="overwrite")]}, "asks for destination sync mode 'overwrite'"),
        ({"streams": [stream(primary_key="email")]}, "streams[0].primary_key"),
        ({"streams": [stream(stream={"namespace": 3})]}, "streams[0].stream.namespace"),
    ],
)
def test_each_unusable_catalog_gets_a_sentence(catalog, says):
    with pytest.raises(ConfigError) as raised:
        check_catalog(catalog)
    assert says in str(raised.value)


def test_the_hidden_check_budget_only_shortens_the_real_one():
    assert check_retry_seconds({}) == 15.0
    assert check_retry_seconds({"check_retry_seconds": 1}) == 1.0
    assert check_retry_seconds({"check_retry_seconds": 600}) == 15.0  # never longer than check's promise
    assert check_retry_seconds({"check_retry_seconds": True}) == 15.0
