"""An answer cut short after the server committed the write (the emulator's `truncate` fault) is an outage:
the connector retries it, and Twenty ends up holding every record once, with the counts exact (issue 8, item 6).

Unlike the spoiling proxy of test_outages.py, the emulator performs the request before it cuts the answer, so
the retry meets records that the truncated call already wrote.
"""

from __future__ import annotations

import re

import pytest
import requests

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from twenty_emulator.testing import run_emulator

COUNT = 40
MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]
# Every second request, reads and writes alike, gets half an answer; the seed makes the run repeatable.
FAULTS = ("--faults", "truncate:0.5", "--fault-seed", "11")


def rows(tag: str) -> list[dict]:
    return [{"email": f"cut{i}@truncate.example", "first": f"{tag}{i}"} for i in range(COUNT)]


def summary_counts(run) -> tuple[int, int, int]:
    (line,) = [m for m in run.logs if m.startswith("Sync summary")]
    found = re.search(r"created (\d+), updated (\d+), rejected (\d+)", line)
    assert found, line
    return tuple(int(n) for n in found.groups())


def sync_through_truncations(tmp_path, upsert: bool):
    """Run one write through the faults; return the run, what the emulator stored, and its request log."""
    with run_emulator("--rate-limit", "off", *FAULTS, api_key=API_KEY) as emulator:
        if upsert:
            # Half of the people exist already, under other names: upsert updates those and creates the rest.
            for r in rows("x")[::2]:
                post_until_stored(
                    emulator, {"emails": {"primaryEmail": r["email"]}, "name": {"firstName": "Old"}}
                )
        config = config_for(
            emulator, "people", column_mapping=MAPPING, upsert=upsert, batch_size=5, max_retry_seconds=120
        )
        messages = [record("people", r) for r in rows("New")] + [state("people", COUNT)]
        catalog = catalog_for("people", primary_key=[["email"]])
        run = run_connector(["write"], tmp_path, config, catalog, messages)
        return run, [p for p in emulator.records("people") if not p.get("deletedAt")], emulator.requests()


@pytest.mark.parametrize("upsert", [True, False], ids=["upsert", "create"])
def test_a_truncated_answer_is_retried_and_every_record_is_stored_once(tmp_path, upsert):
    run, stored, log = sync_through_truncations(tmp_path, upsert)
    cut_writes = [e for e in log if e["fault"] == "truncate" and e["path"] == "/rest/batch/people"]
    assert len(cut_writes) >= 2, "the fault must really have cut write answers short"
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.errors == []
    sent = rows("New")
    by_email: dict[str, list[dict]] = {}
    for person in stored:
        by_email.setdefault(person["emails"]["primaryEmail"], []).append(person)
    assert sorted(by_email) == sorted(r["email"] for r in sent)
    assert all(len(v) == 1 for v in by_email.values()), "a record was stored twice"
    assert {e: v[0]["name"]["firstName"] for e, v in by_email.items()} == {
        r["email"]: r["first"] for r in sent
    }
    (last,) = run.states
    assert last["destinationStats"] == {"recordCount": float(COUNT)}
    created, updated, rejected = summary_counts(run)
    assert (created + updated, rejected) == (COUNT, 0)
    if not upsert:
        assert created == COUNT


def test_a_truncated_upsert_still_tells_created_from_updated(tmp_path):
    run, _, _ = sync_through_truncations(tmp_path, upsert=True)
    assert summary_counts(run) == (COUNT // 2, COUNT // 2, 0)


def post_until_stored(emulator, person: dict) -> None:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    email = person["emails"]["primaryEmail"]
    for _ in range(20):  # bounded: with p=0.5 twenty misses in a row do not happen with this seed
        try:
            requests.post(emulator.url + "/rest/people", json=person, headers=headers, timeout=10)
        except requests.RequestException:
            pass
        if any(p["emails"]["primaryEmail"] == email for p in emulator.records("people")):
            return
    raise AssertionError(f"could not seed {email}")
