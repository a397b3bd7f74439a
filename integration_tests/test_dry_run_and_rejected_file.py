"""Dry run writes nothing and echoes no state; the rejected-records file holds every rejection before the state
that counts it (issue 12)."""

import json

import requests

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state

MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
    {"column": "company", "field": "companyId"},
]
MISSING_COMPANY = "00000000-0000-4000-8000-00000000c0de"


def seed(emulator, email):
    response = requests.post(
        f"{emulator.url}/rest/people",
        json={"emails": {"primaryEmail": email}},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert response.status_code == 201


def test_dry_run_predicts_and_writes_nothing(emulator, tmp_path):
    seed(emulator, "known@dry.example")
    before = len(emulator.requests())
    rows = [
        {"email": "known@dry.example", "first": "K"},
        {"email": "new@dry.example", "first": "N"},
        {"email": "bad@dry.example", "company": "not-a-uuid"},
    ]
    messages = [record("people", row) for row in rows] + [state("people", 3, 1)]
    config = config_for(emulator, "people", column_mapping=MAPPING, dry_run=True)
    run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert run.returncode == 0, run.stdout
    assert run.states == []  # the platform's state must not move: a real sync still sends everything
    assert any("no state is echoed" in line for line in run.logs)
    (summary,) = [line for line in run.logs if line.startswith("Dry run summary")]
    assert "would create 1, would update 1, would reject 1" in summary
    assert "Record 3 of stream 'people'" in summary and "companyId" in summary
    methods = {r["method"] for r in emulator.requests()[before:]}
    assert methods <= {"GET"}, methods
    assert [p["emails"]["primaryEmail"] for p in emulator.records("people")] == ["known@dry.example"]


def test_rejected_records_are_in_the_file_before_the_state_that_counts_them(emulator, tmp_path):
    path = tmp_path / "rejected.jsonl"
    rows = [
        {"email": "a@rej.example", "first": "A"},
        {"email": "b@rej.example", "company": "not-a-uuid"},  # refused before sending
        {"email": "c@rej.example", "company": MISSING_COMPANY},  # refused by Twenty
    ]
    messages = [record("people", row) for row in rows] + [state("people", 3, 1)]
    config = config_for(
        emulator, "people", column_mapping=MAPPING, partial_success=True, rejected_records_path=str(path)
    )
    run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert run.returncode == 0, run.stdout
    assert run.states[-1]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 2.0}
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["stream"], e["position"], e["data"]["email"]) for e in lines] == [
        ("people", 2, "b@rej.example"),
        ("people", 3, "c@rej.example"),
    ]
    assert lines[0]["field"] == "companyId" and "not-a-uuid" in lines[0]["reason"]
    assert lines[0]["twenty_message"] is None
    assert "foreign key" in lines[1]["twenty_message"]

    # Fixed and replayed, as the README shows: the file's lines become RECORD messages again.
    fixed = [{**e["data"], "company": None} for e in lines]
    again = run_connector(
        ["write"],
        tmp_path,
        config,
        catalog_for("people"),
        [record(e["stream"], data) for e, data in zip(lines, fixed, strict=True)],
    )
    assert again.returncode == 0, again.stdout
    assert sorted(p["emails"]["primaryEmail"] for p in emulator.records("people")) == [
        "a@rej.example",
        "b@rej.example",
        "c@rej.example",
    ]


def test_an_unwritable_rejected_records_path_fails_before_writing(emulator, tmp_path):
    config = config_for(emulator, "people", rejected_records_path=str(tmp_path / "no" / "such" / "dir.jsonl"))
    run = run_connector(
        ["write"],
        tmp_path,
        config,
        catalog_for("people"),
        [record("people", {"emails.primaryEmail": "x@y.example"})],
    )
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "rejected_records_path" in error["message"]
    assert emulator.records("people") == []


def test_every_counted_rejection_is_in_the_file_even_after_kill_9(emulator, tmp_path):
    from reliability.scenarios import write as write_streamed

    path = tmp_path / "rejected.jsonl"
    lines = []
    for n in range(300):
        row = {"email": f"k{n}@rej.example", "first": f"K{n}"}
        if n % 10 == 3:
            row["company"] = "not-a-uuid"
        lines.append(json.dumps(record("people", row)) + "\n")
        if n % 50 == 49:
            lines.append(json.dumps(state("people", n + 1, n + 1)) + "\n")
    config = config_for(
        emulator,
        "people",
        column_mapping=MAPPING,
        partial_success=True,
        rejected_records_path=str(path),
        batch_size=20,
    )
    run = write_streamed(config, catalog_for("people"), lines, kill_after_states=2)
    assert run.returncode == -9
    counted = sum(s.get("destinationStats", {}).get("rejectedRecordCount", 0) for s in run.states)
    assert counted >= 10
    in_file = [json.loads(line)["position"] for line in path.read_text().splitlines()]
    assert len(in_file) >= counted
    assert in_file[: int(counted)] == [n + 1 for n in range(300) if n % 10 == 3][: int(counted)]
