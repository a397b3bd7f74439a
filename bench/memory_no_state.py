"""Peak memory of a sync that never checkpoints (issue 19, item 10): 1,000,000 records with no STATE, 10 % of
them rejected, written with content-derived ids (no primary key, no unique field mapped), against a Twenty
stand-in that stalls now and then, so rejections queue behind a slow batch.

What must stay bounded: the rejections (with their data) and STATEs queued behind a stalled batch, and the
per-stream count of identical rows, which only a STATE resets. Measured side by side in one run: the connector's
peak RSS (VmHWM) writing 100,000 and 1,000,000 records; target: under 200 MB at 1,000,000.

The stand-in is a small HTTP server in this process (127.0.0.1): it serves the emulator's metadata (read once
from a short-lived emulator) and answers every batch write at once, so the figure is the connector's own
memory, not a server's. Usage: python bench/memory_no_state.py [--quick]; writes bench/results/memory_no_state.md
and .json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import API_KEY, CONNECTOR, _watch_peak_rss, catalog  # noqa: E402
from twenty_emulator.testing import run_emulator  # noqa: E402

OUT = Path(__file__).resolve().parent / "results"
TARGET_MB = 200.0
STALL_EVERY = 50  # every 50th batch write is answered after STALL_SECONDS
STALL_SECONDS = 1.0
MAPPING = [
    {"column": "first", "field": "name.firstName"},
    {"column": "title", "field": "jobTitle"},
    {"column": "city", "field": "city"},
]


def metadata() -> bytes:
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        answer = requests.get(
            emulator.url + "/rest/metadata/objects",
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.content


class Sink:
    """Answers like Twenty's batch create: the records back with ids and timestamps."""

    def __init__(self, objects: bytes):
        sink = self
        self.batches = 0
        self.records = 0
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 - http.server's naming
                self._answer(
                    200, objects if self.path.startswith("/rest/metadata/objects") else b'{"data":{}}'
                )

            def do_POST(self):  # noqa: N802
                rows = orjson.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with sink._lock:
                    sink.batches += 1
                    sink.records += len(rows)
                    stall = sink.batches % STALL_EVERY == 0
                if stall:
                    time.sleep(STALL_SECONDS)
                now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
                stored = [
                    {**r, "id": r.get("id") or str(uuid.uuid4()), "createdAt": now, "updatedAt": now}
                    for r in rows
                ]
                self._answer(201, orjson.dumps({"data": {"createPeople": stored}}))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def lines(count: int):
    """RECORD lines, no STATE; every tenth record is refused by the mapping (a list where text belongs)."""
    for i in range(count):
        title = ["not", "text"] if i % 10 == 9 else f"Engineer {i}"
        data = {"first": f"First{i}", "title": title, "city": ["London", "Paris", "Lagos"][i % 3]}
        yield (
            orjson.dumps({"type": "RECORD", "record": {"stream": "people", "data": data, "emitted_at": 0}})
            + b"\n"
        )


def connector_from(rev: str, into: str) -> list[str]:
    """The console script of another commit (for a before/after figure): its tree, run by this interpreter."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    code = f"import sys; sys.path.insert(0, {into!r}); from destination_twenty.airbyte.cli import run; run()"
    return [sys.executable, "-c", code]


def sync(url: str, count: int, command: list[str] | None = None, abort_mb: float | None = None) -> dict:
    config = {
        "api_key": API_KEY,
        "api_url": url,
        "mode": "people",
        "column_mapping": MAPPING,
        "partial_success": True,
        "requests_per_minute": 1_000_000,
        "batch_size": 200,
    }
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.json").write_text(json.dumps(config))
        Path(tmp, "catalog.json").write_text(json.dumps(catalog({"people": "append"})))
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                *(command or [str(CONNECTOR)]),
                "write",
                "--config",
                f"{tmp}/config.json",
                "--catalog",
                f"{tmp}/catalog.json",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        summary: list[bytes] = []
        errors = [0]

        def read():
            for line in proc.stdout:  # drained as it comes: 100,000 rejection traces at 1,000,000
                if b'"type":"TRACE"' in line:
                    errors[0] += 1
                elif b"Sync summary" in line:
                    summary.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        peak = [0]
        watcher = threading.Thread(target=_watch_peak_rss, args=(proc, peak), daemon=True)
        watcher.start()
        aborted = False
        try:
            for n, line in enumerate(lines(count)):
                proc.stdin.write(line)
                if abort_mb and n % 10_000 == 0 and peak[0] / 1024 > abort_mb:
                    aborted = True  # past the ceiling: the figure is made, no need to swap the machine
                    proc.kill()
                    break
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.wait()
        seconds = time.perf_counter() - started
        reader.join(timeout=30)
        watcher.join(timeout=10)
    text = json.loads(summary[-1])["log"]["message"] if summary else ""
    return {
        "aborted_at_mb": abort_mb if aborted else None,
        "records_sent": n + 1 if aborted else count,
        "records": count,
        "returncode": proc.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak[0] / 1024, 1),
        "rejection_traces": errors[0],
        "summary": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 records (a smoke run)")
    parser.add_argument("--before", metavar="REV", help="also run the large sync with the connector of REV")
    args = parser.parse_args()
    small, large = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    sink = Sink(metadata())
    before = None
    try:
        runs = [sync(sink.url, small), sync(sink.url, large)]
        stored = sink.records
        if args.before:
            with tempfile.TemporaryDirectory() as tree:
                before = sync(sink.url, large, connector_from(args.before, tree), abort_mb=TARGET_MB)
                before["rev"] = args.before
    finally:
        sink.close()
    first, second = runs
    for run in runs:
        expected = run["records"] - run["records"] // 10
        ok = (
            run["returncode"] == 0
            and f"created {expected}, updated 0, rejected {run['records'] // 10}" in run["summary"]
        )
        run["exact"] = ok
    result = {
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "runs": runs,
        "records_stored_by_the_sink": stored,
        "ratio": round(second["peak_rss_mb"] / first["peak_rss_mb"], 2),
        "target_mb": TARGET_MB,
        "pass": second["peak_rss_mb"] < TARGET_MB and all(r["exact"] for r in runs),
        "before": before,
    }
    OUT.mkdir(exist_ok=True)
    name = "memory_no_state_quick" if args.quick else "memory_no_state"
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = (
        "# Memory of a sync that never checkpoints\n\n"
        f"Measured {result['measured_at']} by `python bench/memory_no_state.py` on CPython {result['python']}: "
        "no STATE, every tenth record rejected (partial success on), content-derived ids, every "
        f"{STALL_EVERY}th batch answered after {STALL_SECONDS:.0f} s by a local stand-in for Twenty.\n\n"
        "| records | peak RSS | seconds | rejection traces | summary exact |\n|---|---|---|---|---|\n"
        + "".join(
            f"| {r['records']:,} | {r['peak_rss_mb']} MB | {r['seconds']} | {r['rejection_traces']:,} | "
            f"{'yes' if r['exact'] else 'no'} |\n"
            for r in runs
        )
        + f"\nPeak RSS at {second['records']:,} ÷ at {first['records']:,}: {result['ratio']} "
        f"(target: under {TARGET_MB:.0f} MB at {second['records']:,}): {'pass' if result['pass'] else 'FAIL'}.\n"
    )
    if before:
        if before["aborted_at_mb"]:
            then = f"passed {before['aborted_at_mb']:.0f} MB after {before['records_sent']:,} records and was stopped"
        else:
            then = f"peaked at {before['peak_rss_mb']} MB"
        table += f"\nThe same {large:,}-record sync with the connector of {before['rev']} (before the fix) {then}.\n"
    (OUT / f"{name}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
