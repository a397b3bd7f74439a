"""The examples `make demo` runs are what a source would send: each catalog lists the columns its config maps."""

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["people", "companies"])
def test_example_catalog_lists_every_column_the_config_maps_and_the_messages_send(name: str) -> None:
    config = json.loads((EXAMPLES / f"{name}_config.json").read_text())
    (stream,) = json.loads((EXAMPLES / f"{name}_catalog.json").read_text())["streams"]
    properties = stream["stream"]["json_schema"].get("properties") or {}
    mapped = {m["column"] for m in config["column_mapping"]}
    assert mapped <= set(properties), f"mapped but not in the schema: {sorted(mapped - set(properties))}"
    sent = set()
    for line in (EXAMPLES / f"{name}_messages.jsonl").read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            sent |= set(message["record"]["data"])
    assert sent <= set(properties), f"sent but not in the schema: {sorted(sent - set(properties))}"
