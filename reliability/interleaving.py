"""The interleaving run (issue 19, item 12): the accounting scenarios under random 429s and latency with four
batches in flight, over several seeds. Each run asserts what the connector promises on every exit path: its
summary, the sum of its states' stats and what the emulator holds are the same numbers.

Scenarios (people, 10-record batches so many requests overlap; from the 31st on, every seventh record is bad, one of three ways:
refused by the mapping, refused by Twenty for a missing company id, or linked to a company that does not exist):
- `partial on`: every good record lands once, every bad one is rejected and counted;
- `partial off`: the sync ends at a rejection (config_error naming a bad record, never an outage), and counts
  exactly what landed before it;
- `relations`: people linked to seeded companies by domain, some domains unknown;
- `resume`: the connector is killed (SIGKILL) after its third state and run again from the last state it echoed.

Shared by integration_tests/test_interleaving.py (a few seeds, small) and scripts/reliability_report.py (more).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reliability.scenarios import API_KEY, base_config, catalog, messages, post_until_stored, write
from twenty_emulator.testing import run_emulator

SCENARIOS = ("partial on", "partial off", "relations", "resume")
# Random 429s on about one request in eight, and latency on half of them, uneven so answers overtake each other.
FAULTS = "429:0.12,latency=15:0.3,latency=60:0.15,latency=150:0.05"
MISSING_COMPANY = "00000000-0000-4000-8000-00000000c0de"
MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
    {"column": "title", "field": "jobTitle"},
    {"column": "company", "field": "companyId"},
]
RELATION_MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
    {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
]
SUMMARY = re.compile(
    r"stream 'people': created (\d+), updated (\d+)(?:, already stored (\d+))?, rejected (\d+)"
)


@dataclass
class Interleaving:
    scenario: str
    seed: int
    records: int
    bad: int
    faults: Counter = field(default_factory=Counter)
    requests: int = 0
    stored: int = 0
    summary_written: int = 0
    summary_rejected: int = 0
    state_written: float = 0
    state_rejected: float = 0
    exit_codes: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # empty when every count agrees
    seconds: float = 0.0

    @property
    def exact(self) -> bool:
        return not self.problems


def rows_for(scenario: str, count: int, seed: int) -> tuple[list[dict[str, Any]], set[int]]:
    """The input and the positions (0-based) of its bad records, chosen by the seed."""
    rng = random.Random(seed)
    rows, bad = [], set()
    for i in range(count):
        row: dict[str, Any] = {"email": f"i{i}@interleave.example", "first": f"S{seed}R{i}"}
        if scenario == "relations":
            row["domain"] = f"https://c{rng.randrange(5)}.interleave.example"
        if i >= 30 and i % 7 == 3:  # after the first state, so every scenario has something to count first
            bad.add(i)
            how = rng.randrange(3)
            if scenario == "relations":
                row["domain"] = f"https://missing{i}.interleave.example"
            elif how == 0:
                row["title"] = ["not", "text"]  # the mapping refuses it
            else:
                row["company"] = MISSING_COMPANY  # Twenty refuses it (a foreign key to nothing)
        rows.append(row)
    return rows, bad


def _summary(run) -> tuple[int, int] | None:
    for message in reversed(run.messages):
        text = message.get("log", {}).get("message", "") if message.get("type") == "LOG" else ""
        found = SUMMARY.search(text)
        if found:
            created, updated, unchanged, rejected = (int(g or 0) for g in found.groups())
            return created + updated + unchanged, rejected
    return None


def _errors(run) -> list[dict[str, Any]]:
    return [
        m["trace"]["error"]
        for m in run.messages
        if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR"
    ]


def run(scenario: str, seed: int, count: int = 200) -> Interleaving:
    started = time.monotonic()
    rows, bad = rows_for(scenario, count, seed)
    good = {r["email"]: r["first"] for i, r in enumerate(rows) if i not in bad}
    result = Interleaving(scenario, seed, count, len(bad))
    faults = ("--faults", FAULTS, "--fault-seed", str(seed))
    with run_emulator("--rate-limit", "off", *faults, api_key=API_KEY) as emu:
        mapping = MAPPING
        if scenario == "relations":
            mapping = RELATION_MAPPING
            body = [
                {"name": f"C{n}", "domainName": {"primaryLinkUrl": f"https://c{n}.interleave.example"}}
                for n in range(5)
            ]
            post_until_stored(emu.url, "companies", body)
        since = len(emu.requests())
        config = base_config(
            emu.url,
            "people",
            column_mapping=mapping,
            batch_size=10,
            max_concurrent_requests=4,
            partial_success=scenario != "partial off",
            max_retry_seconds=60,
        )
        lines = list(messages("people", rows, state_every=25))
        if scenario == "resume":
            first = write(config, catalog("people", [["email"]]), lines, kill_after_states=3)
            result.exit_codes.append(first.returncode)
            resume = first.states[-1]["stream"]["stream_state"]["covered"] if first.states else 0
            lines = list(messages("people", rows, state_every=25, start=resume))
            sent = [(i, r) for i, r in enumerate(rows) if i >= resume]
        else:
            sent = list(enumerate(rows))
        last = write(config, catalog("people", [["email"]]), lines)
        result.exit_codes.append(last.returncode)
        stored = [p for p in emu.records("people") if not p.get("deletedAt")]
        log = [r for r in emu.requests()[since:] if r["path"].startswith("/rest/")]
        result.requests = len(log)
        result.faults.update(str(r["fault"]) for r in log if r.get("fault"))
    _account(result, last, stored, sent, bad, good, scenario)
    result.seconds = time.monotonic() - started
    return result


def _account(result, last, stored, sent, bad, good, scenario) -> None:
    problems = result.problems
    emails = Counter(p["emails"]["primaryEmail"] for p in stored)
    names = {p["emails"]["primaryEmail"]: p["name"]["firstName"] for p in stored}
    result.stored = len(stored)
    if any(n > 1 for n in emails.values()):
        problems.append("duplicates stored")
    if any(e not in good for e in emails):
        problems.append("a bad record was stored")
    if any(names[e] != good[e] for e in emails if e in good):
        problems.append("a record stored with other values")
    for state in last.states:
        stats = state.get("destinationStats", {})
        result.state_written += stats.get("recordCount", 0)
        result.state_rejected += stats.get("rejectedRecordCount", 0)
    summary = _summary(last)
    if summary is None:
        problems.append("no summary")
        return
    result.summary_written, result.summary_rejected = summary
    sent_bad = sum(1 for i, _ in sent if i in bad)
    if scenario == "partial off":
        errors = _errors(last)
        if last.returncode != 1 or len(errors) != 1 or errors[0]["failure_type"] != "config_error":
            problems.append(f"expected one config_error, got {errors}")
        elif not any(
            errors[0]["message"].startswith(f"Record {i + 1} of stream 'people' was rejected") for i in bad
        ):
            problems.append(f"the failure names no bad record: {errors[0]['message']}")
        if result.summary_written != len(stored):
            problems.append(f"summary {result.summary_written} written, {len(stored)} stored")
        if result.summary_rejected < 1:
            problems.append("no rejection counted")
        if result.state_rejected:
            problems.append("a state counted a rejection, though partial success is off")
        covered = last.states[-1]["stream"]["stream_state"]["covered"] if last.states else 0
        landed_before = sum(1 for i, _ in sent if i < covered and i not in bad)
        if result.state_written != landed_before:
            problems.append(f"states count {result.state_written:.0f}, {landed_before} landed before them")
        if any(i not in bad and i < covered and _row_email(sent, i) not in emails for i, _ in sent):
            problems.append("a record before the last state is missing")
        return
    if last.returncode != 0:
        problems.append(f"exit code {last.returncode}: {_errors(last)}")
    if set(emails) != set(good):
        problems.append(f"{len(set(good) - set(emails))} good records missing")
    sent_good = len(sent) - sent_bad
    if not (result.summary_written == result.state_written == sent_good):
        problems.append(
            f"written: summary {result.summary_written}, states {result.state_written:.0f}, sent {sent_good}"
        )
    if not (result.summary_rejected == result.state_rejected == sent_bad):
        problems.append(
            f"rejected: summary {result.summary_rejected}, states {result.state_rejected:.0f}, sent {sent_bad}"
        )


def _row_email(sent, index) -> str:
    return f"i{index}@interleave.example"
