"""Reliability scenarios against the emulator's fault injection, shared by the tests (which assert) and
`scripts/reliability_report.py` (which writes docs/reliability.md from a run).

Each scenario knows exactly what Twenty should hold afterwards and compares it with what the emulator stored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from twenty_emulator.testing import run_emulator

CONNECTOR = Path(sys.executable).with_name("destination-twenty")
API_KEY = "reliability-key-7c1f0b9e2d"
# About 15 % of requests get a fault: server errors, rate limits, dropped connections before and after the
# write is committed, and latency.
FAULT_MIX = "500:0.03,502:0.02,503:0.02,429:0.03,reset:0.02,commit-reset:0.03,latency=20:0.02"


@dataclass
class Outcome:
    scenario: str
    records: int
    faults: Counter = field(default_factory=Counter)  # kind → how many were injected
    requests: int = 0  # /rest/ requests the server saw
    stored: int = 0
    duplicates: int = 0
    lost: int = 0
    wrong: int = 0  # stored once, but not with the values sent
    state_written: float = 0
    state_rejected: float = 0
    exit_codes: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exact(self) -> bool:
        return self.duplicates == 0 and self.lost == 0 and self.wrong == 0


@dataclass
class WriteRun:
    returncode: int
    messages: list[dict[str, Any]]
    stderr: str

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.messages if m.get("type") == "STATE"]


def write(
    config: dict[str, Any],
    catalog: dict[str, Any],
    lines: Iterable[str],
    kill_after_states: int | None = None,
    timeout: float = 600,
) -> WriteRun:
    """Run `destination-twenty write` with streamed stdin; optionally kill -9 it after N echoed states."""
    with tempfile.TemporaryDirectory() as tmp:
        config_path, catalog_path = Path(tmp, "config.json"), Path(tmp, "catalog.json")
        config_path.write_text(json.dumps(config))
        catalog_path.write_text(json.dumps(catalog))
        proc = subprocess.Popen(
            [str(CONNECTOR), "write", "--config", str(config_path), "--catalog", str(catalog_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        messages: list[dict[str, Any]] = []
        killed = threading.Event()

        def read_stdout() -> None:
            states = 0
            for line in proc.stdout:
                message = json.loads(line)
                messages.append(message)
                if message.get("type") == "STATE":
                    states += 1
                    if kill_after_states is not None and states >= kill_after_states and not killed.is_set():
                        killed.set()
                        os.kill(proc.pid, signal.SIGKILL)

        stderr: list[str] = []
        reader = threading.Thread(target=read_stdout, daemon=True)
        err_reader = threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True)
        reader.start()
        err_reader.start()
        try:
            for line in lines:
                if killed.is_set():
                    break
                proc.stdin.write(line)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        returncode = proc.wait(timeout=timeout)
        reader.join(timeout=10)
        err_reader.join(timeout=10)
    for message in messages:
        text = json.dumps(message)
        assert API_KEY not in text, "the API key leaked into stdout"
    assert API_KEY not in "".join(stderr), "the API key leaked into stderr"
    return WriteRun(returncode, messages, "".join(stderr))


def catalog(stream: str, primary_key: list[list[str]] | None = None) -> dict[str, Any]:
    configured = {
        "stream": {
            "name": stream,
            "json_schema": {"type": "object"},
            "supported_sync_modes": ["incremental"],
        },
        "sync_mode": "incremental",
        "destination_sync_mode": "append_dedup",
    }
    if primary_key:
        configured["primary_key"] = primary_key
    return {"streams": [configured]}


def messages(
    stream: str, rows: list[dict[str, Any]], state_every: int = 100, start: int = 0
) -> Iterator[str]:
    """RECORD lines with a STATE (cursor = rows covered so far) every `state_every` records."""
    for i in range(start, len(rows)):
        yield (
            json.dumps({"type": "RECORD", "record": {"stream": stream, "data": rows[i], "emitted_at": 0}})
            + "\n"
        )
        if (i + 1) % state_every == 0 or i + 1 == len(rows):
            state = {
                "type": "STREAM",
                "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"covered": i + 1}},
                "id": i + 1,
            }
            yield json.dumps({"type": "STATE", "state": state}) + "\n"


def base_config(url: str, mode: str, **extra: Any) -> dict[str, Any]:
    config = {
        "api_key": API_KEY,
        "api_url": url,
        "mode": mode,
        "requests_per_minute": 1_000_000,
        "batch_size": 60,
        "max_retry_seconds": 120,
        "request_timeout_seconds": 10,
    }
    config.update(extra)
    return config


def people_rows(count: int, tag: str) -> list[dict[str, Any]]:
    return [{"email": f"p{i}@reliability.example", "first": f"{tag}{i}"} for i in range(count)]


PEOPLE_MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]


def compare_people(stored: list[dict[str, Any]], rows: list[dict[str, Any]], outcome: Outcome) -> None:
    live_rows = [p for p in stored if not p.get("deletedAt")]
    by_email = Counter(p["emails"]["primaryEmail"] for p in live_rows)
    names = {p["emails"]["primaryEmail"]: p["name"]["firstName"] for p in live_rows}
    expected = {r["email"]: r["first"] for r in rows}
    outcome.stored = len(live_rows)
    outcome.duplicates = sum(n - 1 for n in by_email.values() if n > 1) + sum(
        n for email, n in by_email.items() if email not in expected
    )
    outcome.lost = sum(1 for email in expected if email not in by_email)
    outcome.wrong = sum(1 for email, first in expected.items() if email in names and names[email] != first)


def tally_states(run: WriteRun, outcome: Outcome) -> None:
    for state in run.states:
        stats = state.get("destinationStats", {})
        outcome.state_written += stats.get("recordCount", 0)
        outcome.state_rejected += stats.get("rejectedRecordCount", 0)
    outcome.exit_codes.append(run.returncode)


def faults_injected(emulator, outcome: Outcome, since: int = 0) -> None:
    """Faults met by the connector: the request log from entry `since` on (set-up writes excluded)."""
    log = [r for r in emulator.requests()[since:] if r["path"].startswith("/rest/")]
    outcome.requests = len(log)
    outcome.faults.update(str(r["fault"]) for r in log if r.get("fault"))


def post_until_stored(url: str, plural: str, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set-up writes through the faults: upsert one batch, retrying until it is stored (idempotent by key)."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    for _attempt in range(50):
        try:
            response = requests.post(
                f"{url}/rest/batch/{plural}?upsert=true", json=body, headers=headers, timeout=10
            )
        except requests.RequestException:
            continue
        if response.status_code == 201:
            return next(iter(response.json()["data"].values()))
        time.sleep(0.05)
    raise RuntimeError(f"could not seed {plural}")


def seed_companies(url: str, count: int) -> list[str]:
    """Create companies directly and return their ids in order."""
    ids: list[str] = []
    for start in range(0, count, 60):
        body = [
            {
                "name": f"Company {i}",
                "domainName": {"primaryLinkUrl": f"https://c{i}.reliability.example"},
                "employees": 1,
            }
            for i in range(start, min(start + 60, count))
        ]
        by_domain = {
            r["domainName"]["primaryLinkUrl"]: r["id"] for r in post_until_stored(url, "companies", body)
        }
        ids.extend(by_domain[b["domainName"]["primaryLinkUrl"]] for b in body)
    return ids


# --- the scenarios --------------------------------------------------------------------------------------


def fault_matrix(write_mode: str, count: int = 5000, seed: int = 7, batch_size: int = 20) -> Outcome:
    """`count` records through the FAULT_MIX, in one of the three write modes; exact comparison after.

    Small batches make more requests, so more of them meet a fault."""
    started = time.monotonic()
    outcome = Outcome(f"fault mix, {write_mode}", count)
    with run_emulator(
        "--rate-limit", "off", "--faults", FAULT_MIX, "--fault-seed", str(seed), api_key=API_KEY
    ) as emu:
        if write_mode in ("create", "upsert"):
            if write_mode == "upsert":
                # Half the people exist already (with other names): upsert must update them, create the rest.
                old = people_rows(count // 2, "Old")
                for start in range(0, len(old), 60):
                    body = [
                        {"emails": {"primaryEmail": r["email"]}, "name": {"firstName": r["first"]}}
                        for r in old[start : start + 60]
                    ]
                    post_until_stored(emu.url, "people", body)
            rows = people_rows(count, "New")
            upsert = write_mode == "upsert"
            config = base_config(
                emu.url, "people", column_mapping=PEOPLE_MAPPING, upsert=upsert, batch_size=batch_size
            )
            since = len(emu.requests())
            run = write(config, catalog("people", [["email"]]), messages("people", rows))
            tally_states(run, outcome)
            compare_people(emu.records("people"), rows, outcome)
        elif write_mode == "update":
            ids = seed_companies(emu.url, count)
            rows = [{"twenty_id": company_id, "size": 1000 + i} for i, company_id in enumerate(ids)]
            mapping = [{"column": "twenty_id", "field": "id"}, {"column": "size", "field": "employees"}]
            config = base_config(emu.url, "companies", column_mapping=mapping, batch_size=batch_size)
            since = len(emu.requests())
            run = write(config, catalog("companies"), messages("companies", rows))
            tally_states(run, outcome)
            stored = [c for c in emu.records("companies") if not c.get("deletedAt")]
            by_id = {c["id"]: c for c in stored}
            outcome.stored = len(stored)
            outcome.duplicates = max(0, len(stored) - count)
            outcome.lost = sum(1 for r in rows if r["twenty_id"] not in by_id)
            outcome.wrong = sum(
                1 for r in rows if r["twenty_id"] in by_id and by_id[r["twenty_id"]]["employees"] != r["size"]
            )
        else:
            raise ValueError(write_mode)
        faults_injected(emu, outcome, since)
    outcome.seconds = time.monotonic() - started
    return outcome


def crash_resume(write_mode: str, count: int = 2000) -> Outcome:
    """kill -9 the connector mid-sync, then resume from the last state it echoed, as the platform would."""
    started = time.monotonic()
    outcome = Outcome(f"kill -9 mid-sync and resume, {write_mode}", count)
    rows = people_rows(count, "Crash")
    with run_emulator("--rate-limit", "off", "--faults", "latency=30:1.0", api_key=API_KEY) as emu:
        config = base_config(emu.url, "people", column_mapping=PEOPLE_MAPPING, upsert=write_mode == "upsert")
        first = write(config, catalog("people", [["email"]]), messages("people", rows), kill_after_states=5)
        tally_states(first, outcome)
        resume_from = first.states[-1]["stream"]["stream_state"]["covered"] if first.states else 0
        outcome.faults["kill -9"] = 1
        second = write(config, catalog("people", [["email"]]), messages("people", rows, start=resume_from))
        tally_states(second, outcome)
        compare_people(emu.records("people"), rows, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome
