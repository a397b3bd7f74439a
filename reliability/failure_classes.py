"""One small run per failure class, through the console script against the emulator: what the connector does,
measured (exit code, failure type, what Twenty holds against what the connector counted). Read by
`scripts/reliability_report.py`, which writes the table into docs/reliability.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reliability.scenarios import API_KEY, base_config, catalog, write
from twenty_emulator.testing import run_emulator

RECORDS = 60
PEOPLE = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
    {"column": "company", "field": "companyId"},
]
MISSING_COMPANY = "00000000-0000-4000-8000-00000000c0de"


@dataclass
class ClassOutcome:
    failure: str
    connector_does: str
    exit_code: int
    failure_type: str
    stored: int
    counted: int  # created + updated + already stored, from the summary
    rejected: int

    @property
    def exact(self) -> bool:
        return self.stored == self.counted


def lines(rows: list[dict[str, Any]], raw: list[str] | None = None) -> list[str]:
    out = [
        json.dumps({"type": "RECORD", "record": {"stream": "people", "data": r, "emitted_at": 0}})
        for r in rows
    ]
    out += raw or []
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "people"}, "stream_state": {"n": 1}}}
    return [line + "\n" for line in out + [json.dumps({"type": "STATE", "state": state})]]


def people(n: int = RECORDS, tag: str = "f") -> list[dict[str, Any]]:
    return [{"email": f"{tag}{i}@classes.example", "first": f"F{i}"} for i in range(n)]


def summary(messages: list[dict[str, Any]]) -> tuple[int, int]:
    logs = [m["log"]["message"] for m in messages if m.get("type") == "LOG"]
    line = next((x for x in reversed(logs) if x.startswith("Sync summary")), "")
    written = sum(int(n) for n in re.findall(r"(?:created|updated|already stored) (\d+)", line))
    rejected = sum(int(n) for n in re.findall(r"rejected (\d+)", line))
    return written, rejected


def run_class(
    failure: str,
    does: str,
    emulator_args: list[str],
    rows: list[dict[str, Any]],
    raw: list[str] | None = None,
    version: str | None = None,
    prepare: Callable[[Any], None] | None = None,
    **config: Any,
) -> ClassOutcome:
    with run_emulator("--rate-limit", "off", *emulator_args, api_key=API_KEY, twenty_version=version) as emu:
        if prepare:
            prepare(emu)
        settings = base_config(emu.url, "people", column_mapping=PEOPLE, **config)
        run = write(settings, catalog("people"), lines(rows, raw), timeout=300)
        errors = [m["trace"]["error"] for m in run.messages if m.get("type") == "TRACE"]
        final = [e for e in errors if e.get("failure_type") in ("config_error", "transient_error")]
        written, rejected = summary(run.messages)
        stored = len([p for p in emu.records("people") if not p.get("deletedAt")])
        # (a record `prepare` seeded is one of the rows written, updated by the sync)
    return ClassOutcome(
        failure,
        does,
        run.returncode,
        final[-1]["failure_type"] if final else "—",
        stored,
        written,
        rejected,
    )


def seed_one(emu: Any) -> None:
    import requests

    requests.post(
        f"{emu.url}/rest/people",
        json={"emails": {"primaryEmail": "f0@classes.example"}},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )


def measure() -> list[ClassOutcome]:
    bad = people()
    bad[7]["company"] = MISSING_COMPANY
    return [
        run_class(
            "rate limit (429)",
            "waits (Retry-After when sent), slows its pacing, retries",
            ["--faults", "429@2;3;4"],
            people(),
        ),
        run_class(
            "server error (500/502/503)",
            "retries with backoff within max_retry_seconds",
            ["--faults", "500@2,502@3,503@4"],
            people(),
        ),
        run_class("dropped connection before the write", "retries", ["--faults", "reset@2;3"], people()),
        run_class(
            "answer lost after the write (commit-reset)",
            "retries; the ids it chose (or the upsert) meet the stored records: no duplicate, counted once",
            ["--faults", "commit-reset@2"],
            people(),
            upsert=False,
        ),
        run_class("body cut short (truncate)", "retries as an outage", ["--faults", "truncate@2"], people()),
        run_class(
            "outage past the retry budget",
            "ends as transient_error; the summary counts what landed; no state after it",
            ["--faults", "503@" + ";".join(str(n) for n in range(2, 200))],
            people(),
            max_retry_seconds=1,
        ),
        run_class(
            "a value Twenty would refuse (not a UUID), partial success on",
            "rejects that record before sending, names record and field; the rest lands",
            [],
            [*people(RECORDS - 1), {"email": "x@classes.example", "company": "not-a-uuid"}],
            partial_success=True,
        ),
        run_class(
            "a record Twenty refuses (relation to no record), partial success off",
            "splits the batch to find it, stops at once, config_error naming record and reason; counts what landed",
            [],
            bad,
        ),
        run_class(
            "a smaller batch maximum stated by the server",
            "shrinks to it once for the rest of the sync, with one LOG line",
            ["--max-batch", "25"],
            people(),
        ),
        run_class(
            "REST batch upsert ignored (Twenty v1.3 line)",
            "switches to GraphQL create<Plural>(data, upsert: true) for the rest of the sync",
            [],
            people(),
            version="v1.3",
            prepare=seed_one,
        ),
        run_class(
            "an input line no JSON parser can read",
            "rejects it as a record (counted), with partial success on",
            [],
            people(RECORDS - 1),
            raw=['{"type": "RECORD", "record": {"stream": "people", "data": {"email": "cut@'],
            partial_success=True,
        ),
        run_class(
            "a wrong API key",
            "fails before writing, as config_error",
            [],
            people(),
            api_key="wrong-key-0123456789abcdef",
        ),
    ]


def table(outcomes: list[ClassOutcome]) -> list[str]:
    rows = [
        "| failure | what the connector does | exit | failure type | stored | counted written | rejected | exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        rows.append(
            f"| {o.failure} | {o.connector_does} | {o.exit_code} | {o.failure_type} "
            f"| {o.stored} | {o.counted} | {o.rejected} | {'yes' if o.exact else 'NO'} |"
        )
    return rows
