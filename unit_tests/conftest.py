"""Schemas built from the metadata recorded from a real Twenty server (the conformance corpus in shared/)."""

import json
from pathlib import Path

import pytest

from destination_twenty.mapping.schema import find_object

CASES = Path(__file__).resolve().parents[2] / "shared" / "twenty-conformance" / "cases.jsonl"


@pytest.fixture(scope="session")
def objects():
    if not CASES.exists():
        pytest.skip(f"recorded metadata not found at {CASES}")
    with CASES.open() as lines:
        for line in lines:
            case = json.loads(line)
            if case["case"] == "metadata_objects_list":
                return case["response"]["body"]["data"]["objects"]
    pytest.skip("case metadata_objects_list missing")


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
