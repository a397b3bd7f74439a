"""Schemas built from the metadata recorded from a real Twenty server (conformance/cases.jsonl)."""

import json
from pathlib import Path

import pytest

from destination_twenty.mapping.schema import find_object

CASES = Path(__file__).resolve().parents[1] / "conformance" / "cases.jsonl"


@pytest.fixture(scope="session")
def objects():
    with CASES.open(encoding="utf-8") as lines:
        for line in lines:
            case = json.loads(line)
            if case["case"] == "metadata_objects_list":
                return case["response"]["body"]["data"]["objects"]
    raise LookupError(f"case metadata_objects_list missing from {CASES}")


@pytest.fixture(scope="session")
def people(objects):
    return find_object(objects, "people")


@pytest.fixture(scope="session")
def companies(objects):
    return find_object(objects, "companies")


@pytest.fixture(scope="session")
def opportunities(objects):
    return find_object(objects, "opportunities")


@pytest.fixture(scope="session")
def tasks(objects):
    return find_object(objects, "tasks")
