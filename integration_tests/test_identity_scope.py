"""Identity across connections (issue 19, item 1): the ids derived from a stream's primary key are scoped, so two
connections that both send a stream `users` with keys 1..N into one workspace keep two sets of records, and two
streams whose namespace and name join to the same text (`a.b` + `c`, `a` + `b.c`) are never one stream."""

import uuid

from integration_tests.conftest import config_for, run_connector

MAPPING = [
    {"column": "id", "field": "jobTitle", "transforms": ["to_string"]},
    {"column": "name", "field": "name.firstName"},
]
# The namespace of the ids the connector derives (write/items.py); the test pins the ids earlier versions gave.
CLIENT_ID_NAMESPACE = uuid.UUID("5f6b7c1e-2b1d-4c59-9a51-7e0e4f1f2a10")


def catalog(*streams):
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    **({"namespace": namespace} if namespace else {}),
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh"],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append_dedup",
                "primary_key": [["id"]],
            }
            for namespace, name in streams
        ]
    }


def message(namespace, name, data):
    body = {"stream": name, "data": data, "emitted_at": 1700000000000}
    if namespace:
        body["namespace"] = namespace
    return {"type": "RECORD", "record": body}


def sync(emulator, tmp_path, rows, streams=((None, "users"),), **config):
    messages = [message(ns, name, row) for ns, name in streams for row in rows]
    settings = config_for(emulator, "people", column_mapping=MAPPING, **config)
    run = run_connector(["write"], tmp_path, settings, catalog(*streams), messages)
    assert run.returncode == 0, run.stdout
    return run


def people(emulator):
    return sorted((p["jobTitle"], p["name"]["firstName"]) for p in emulator.records("people"))


def rows(label, n=5):
    return [{"id": i, "name": f"{label}{i}"} for i in range(1, n + 1)]


def test_two_connections_with_different_scopes_keep_two_sets_and_a_third_updates_its_own(emulator, tmp_path):
    first = sync(emulator, tmp_path, rows("crm"), identity_scope="crm")
    sync(emulator, tmp_path, rows("billing"), identity_scope="billing")
    expected = sorted(
        [(str(i), f"crm{i}") for i in range(1, 6)] + [(str(i), f"billing{i}") for i in range(1, 6)]
    )
    assert people(emulator) == expected
    (rule,) = [line for line in first.logs if line.startswith("Stream 'users':")]
    assert "primary key (id)" in rule and "identity scope 'crm'" in rule

    again = sync(emulator, tmp_path, rows("crm-v2"), identity_scope="crm")
    assert any("created 0, updated 5, rejected 0" in line for line in again.logs)
    expected = sorted(
        [(str(i), f"crm-v2{i}") for i in range(1, 6)] + [(str(i), f"billing{i}") for i in range(1, 6)]
    )
    assert people(emulator) == expected


def test_without_a_scope_the_ids_are_those_earlier_versions_gave_and_the_log_says_so(emulator, tmp_path):
    # A connection that synced before identity_scope existed resumes onto the same records.
    run = sync(emulator, tmp_path, rows("plain", 2), streams=((None, "users"), ("public", "users")))
    ids = {(p["jobTitle"], p["id"]) for p in emulator.records("people")}
    old = {
        (str(i), str(uuid.uuid5(CLIENT_ID_NAMESPACE, f"{stream}\x1fpk\x1f[{i}]")))
        for stream in ("users", "public.users")
        for i in (1, 2)
    }
    assert ids == old
    (rule,) = [line for line in run.logs if line.startswith("Stream 'users':")]
    assert "no identity scope" in rule and "set identity_scope" in rule


def test_namespace_and_name_that_join_to_the_same_text_are_two_streams(emulator, tmp_path):
    streams = (("a.b", "c"), ("a", "b.c"))
    run = sync(emulator, tmp_path, rows("x", 3), streams=streams)
    assert len(emulator.records("people")) == 6  # not 3 records written twice
    (summary,) = [line for line in run.logs if line.startswith("Sync summary")]
    assert 'stream \'"a.b"."c"\': created 3, updated 0' in summary
    assert 'stream \'"a"."b.c"\': created 3, updated 0' in summary
    # One connection at a time, too: the second does not take over the first one's records.
    emulator.reset()
    sync(emulator, tmp_path, rows("first", 3), streams=streams[:1])
    sync(emulator, tmp_path, rows("second", 3), streams=streams[1:])
    assert len(emulator.records("people")) == 6


def test_a_scope_with_surrounding_spaces_is_refused_naming_the_key(emulator, tmp_path):
    settings = config_for(emulator, "people", column_mapping=MAPPING, identity_scope=" crm")
    run = run_connector(["check"], tmp_path, settings)
    assert run.status["status"] == "FAILED"
    assert "identity_scope" in run.status["message"]
