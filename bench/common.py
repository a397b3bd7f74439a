"""Shared pieces of the benchmarks: records, the connector as a subprocess, timing and peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONNECTOR = Path(sys.executable).with_name("destination-twenty")
API_KEY = "bench-key-5e8d2b4c17"  # as long as a real key must be (config.MIN_API_KEY_LENGTH)

PEOPLE_MAPPING = [
    {"column": "email", "field": "emails.primaryEmail", "transforms": ["trim", "lowercase"]},
    {"column": "first_name", "field": "name.firstName", "transforms": ["trim"]},
    {"column": "last_name", "field": "name.lastName"},
    {"column": "title", "field": "jobTitle", "transforms": ["null_if:-"]},
    {"column": "city", "field": "city"},
    {"column": "other_email", "field": "emails.additionalEmails", "transforms": ["lowercase"]},
]
# No partial LINKS field here on purpose: mapping only part of one (say linkedinLink.primaryLinkUrl) costs one
# read per upsert batch to keep the stored label and secondary links, which halves throughput under a rate limit.


def catalog(streams: dict[str, str], primary_key: str | None = None) -> dict[str, Any]:
    """A configured catalog of full-refresh streams (name → destination sync mode), each with an open schema."""
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh"],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": mode,
                **({"primary_key": [[primary_key]]} if primary_key else {}),
            }
            for name, mode in streams.items()
        ]
    }


def person(i: int) -> dict[str, Any]:
    return {
        "email": f" Person.{i}@Bench.example ",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "title": "-" if i % 7 == 0 else f"Engineer {i % 13}",
        "city": ["London", "Paris", "Lagos", "Lima"][i % 4],
        "other_email": f"P{i}@Home.example",
    }


def messages(
    count: int,
    stream: str = "people",
    state_every: int = 1000,
    first: int = 0,
    rows: Callable[[int], dict[str, Any]] | None = None,
) -> Iterator[bytes]:
    """Airbyte RECORD and STATE lines, generated on the fly (never held in memory); people first … first+count-1."""
    for i in range(count):
        yield (
            json.dumps(
                {
                    "type": "RECORD",
                    "record": {"stream": stream, "data": (rows or person)(first + i), "emitted_at": 0},
                }
            )
            + "\n"
        ).encode()
        if (i + 1) % state_every == 0 or i + 1 == count:
            state = {
                "type": "STREAM",
                "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"n": i + 1}},
                "id": i + 1,
            }
            yield (json.dumps({"type": "STATE", "state": state}) + "\n").encode()


@dataclass
class SyncRun:
    records: int
    seconds: float
    returncode: int
    peak_rss_mb: float
    states: int
    written: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds


def run_sync(
    url: str, count: int, first: int = 0, rows: Callable[[int], dict[str, Any]] | None = None, **config: Any
) -> SyncRun:
    """Run `destination-twenty write` as Airbyte would, feeding `count` people (from person `first` on) on
    stdin; measure time and RSS."""
    settings = {
        "api_key": API_KEY,
        "api_url": url,
        "mode": "people",
        "column_mapping": PEOPLE_MAPPING,
        "batch_size": 200,
        "requests_per_minute": 1_000_000,
    }
    settings.update(config)
    with tempfile.TemporaryDirectory() as tmp:
        config_path, catalog_path = Path(tmp, "config.json"), Path(tmp, "catalog.json")
        config_path.write_text(json.dumps(settings))
        catalog_path.write_text(json.dumps(catalog({"people": "append_dedup"})))
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(CONNECTOR), "write", "--config", str(config_path), "--catalog", str(catalog_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        out: list[bytes] = []
        reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
        reader.start()
        peak = [0]
        watcher = threading.Thread(target=_watch_peak_rss, args=(proc, peak), daemon=True)
        watcher.start()
        try:
            for line in messages(count, first=first, rows=rows):
                proc.stdin.write(line)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.wait()
        seconds = time.perf_counter() - started
        reader.join(timeout=10)
        watcher.join(timeout=10)
    states = [json.loads(line)["state"] for line in out if line.startswith(b'{"type":"STATE"')]
    written = sum(s["destinationStats"]["recordCount"] for s in states)
    return SyncRun(count, seconds, proc.returncode, peak[0] / 1024, len(states), written)


def _watch_peak_rss(proc: subprocess.Popen, peak: list[int]) -> None:
    """Follow the connector's VmHWM (peak resident set, kB) until it exits.

    Not getrusage: on Linux a child's ru_maxrss also counts the parent's memory it inherited at fork time, so
    a large benchmark process would inflate it.
    """
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            break
        time.sleep(0.05)


def publish_section(section: str, start: str, end: str) -> None:
    """Put a benchmark's section between its markers in bench/RESULTS.md (appended there the first time) and in the
    README, which quotes it without its heading; print it."""
    for path in (ROOT / "bench" / "RESULTS.md", ROOT / "README.md"):
        text = path.read_text()
        quoted = section if path.name == "RESULTS.md" else section.split("\n", 2)[2]
        if start in text and end in text:
            head, rest = text.split(start, 1)
            text = head + start + quoted + end + rest.split(end, 1)[1]
        elif path.name == "RESULTS.md":
            text = text.rstrip("\n") + "\n\n" + start + section + end + "\n"
        path.write_text(text)
    print(section)
