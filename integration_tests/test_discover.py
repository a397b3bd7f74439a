"""`destination-twenty discover` (issue 10): the workspace as a DESTINATION_CATALOG that the protocol's own model
accepts, with composite sub-fields, select options, relations as lookup paths and matching keys."""

import serpyco_rs
from airbyte_protocol_dataclasses.models import DestinationCatalog, DestinationSyncMode

from integration_tests.conftest import config_for, run_connector


def test_discover_describes_the_workspace(emulator, tmp_path):
    run = run_connector(["discover"], tmp_path, config_for(emulator, "people"))
    assert run.returncode == 0, run.stdout
    (message,) = run.messages
    assert message["type"] == "DESTINATION_CATALOG"
    catalog = serpyco_rs.Serializer(DestinationCatalog).load(message["destination_catalog"])
    ops = {(op.object_name, op.sync_mode): op for op in catalog.operations}
    assert {name for name, _ in ops} >= {"people", "companies", "opportunities", "notes", "tasks"}
    assert "workspaceMembers" not in {name for name, _ in ops}  # system objects are not written
    people = ops[("people", DestinationSyncMode.append_dedup)]
    # Top-level field names, as the platform puts a chosen key in the stream's primary_key (issue 21).
    assert people.matching_keys == [["id"], ["emails"]]
    props = people.json_schema["properties"]
    assert set(props["name"]["properties"]) == {"firstName", "lastName"}
    assert props["companyId"]["format"] == "uuid"
    assert "domainName" in props["company"]["properties"]  # people can be linked to a company by its domain
    opportunity = ops[("opportunities", DestinationSyncMode.append)].json_schema["properties"]
    assert "NEW" in opportunity["stage"]["enum"]
    assert ops[("opportunities", DestinationSyncMode.append)].matching_keys is None


def test_discover_with_a_wrong_key_fails_cleanly(emulator, tmp_path):
    run = run_connector(
        ["discover"], tmp_path, config_for(emulator, "people", api_key="wrong-key-0123456789abcdef")
    )
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error"
