"""`python bench/real.py --url URL --key-file FILE`: the no-limit and calls figures against a real Twenty.

`make bench` measures against the emulator; this runs the same two figures against a Twenty given by URL and key
file (any Twenty you run yourself, e.g. on 127.0.0.1):

* no limit: the connector (`destination-twenty write`, create mode, BATCH a batch, CONCURRENCY in flight) vs a bare
  client posting the same JSON bodies (built beforehand by the connector's own mapper, from the server's metadata)
  to `POST /rest/batch/people` with the same batch size and concurrency; records per second over the write phase,
  side by side, alternating which goes first;
* calls: the data calls per 1,000 records the connector makes (create and upsert), next to the ideal.

Both sides go through a small counting relay on 127.0.0.1 that forwards every request unchanged: the server keeps
no request log we could read, so the relay counts the calls and stamps the write phase for both sides alike.
Everything written carries a run token in its emails, so runs on a shared server never meet each other's records.
Point it only at a server whose REST API is not rate-limited (the v1.3 line), or the figures are the limiter's.

Writes bench/results/real.json and its section of bench/RESULTS.md (quoted in the README).
Usage: python bench/real.py --url http://127.0.0.1:3000 --key-file ~/twenty-rig/v1.3/api-key.txt [--records N]
`--publish` rewrites the section from the saved figures (its emulator column from make bench's bench/results.json).
"""

from __future__ import annotations

import argparse
import http.server
import json
import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PEOPLE_MAPPING, person, publish_section, run_sync  # noqa: E402
from destination_twenty.config import ColumnMap  # noqa: E402
from destination_twenty.mapping.mapper import Mapper  # noqa: E402
from destination_twenty.mapping.schema import find_object  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "real.json"
START, END = "<!-- real -->\n", "<!-- /real -->"
BATCH, CONCURRENCY = 60, 4


class Relay(http.server.ThreadingHTTPServer):
    """Forwards every request to `target` as it came; counts the data calls and stamps the writes."""

    daemon_threads = True

    def __init__(self, target: str):
        super().__init__(("127.0.0.1", 0), _Forward)
        self.target = target.rstrip("/")
        self.lock = threading.Lock()
        self.log: list[tuple[float, str, str, int]] = []  # (time, method, path, status)
        self.local = threading.local()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def mark(self) -> int:
        with self.lock:
            return len(self.log)

    def since(self, mark: int) -> list[tuple[float, str, str, int]]:
        with self.lock:
            return self.log[mark:]


class _Forward(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        server: Relay = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = server.session().request(
            self.command,
            server.target + self.path,
            data=body,
            headers=headers,
            timeout=120,
            allow_redirects=False,
        )
        with server.lock:
            server.log.append((time.time(), self.command, self.path.split("?")[0], answer.status_code))
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _relay

    def log_message(self, *args) -> None:  # quiet
        pass


def data_calls(log) -> int:
    return sum(
        1 for _, _, path, _ in log if path.startswith(("/rest/", "/graphql")) and "/metadata" not in path
    )


def write_phase(log, records: int) -> float:
    """Records/s from the first write call to the last, one mean gap added for the last call's own time."""
    stamps = [
        t
        for t, method, path, status in log
        if method == "POST" and path.startswith(("/rest/batch/", "/graphql")) and status in (200, 201)
    ]
    span = (stamps[-1] - stamps[0]) * len(stamps) / max(len(stamps) - 1, 1)
    return records / span


def mapper_for(url: str, key: str) -> Mapper:
    objects = requests.get(
        f"{url}/rest/metadata/objects", headers={"Authorization": f"Bearer {key}"}, timeout=60
    ).json()["data"]["objects"]
    mapping = [ColumnMap(m["column"], m["field"], tuple(m.get("transforms", []))) for m in PEOPLE_MAPPING]
    return Mapper(mapping, find_object(objects, "people"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--key-file", type=Path)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--publish", action="store_true", help="rewrite the section from the saved figures (after make bench)"
    )
    args = parser.parse_args()
    if args.publish:
        publish(json.loads(RESULTS.read_text()))
        return 0
    if not args.url or not args.key_file:
        parser.error("--url and --key-file are required")
    key = args.key_file.expanduser().read_text().strip()  # never printed
    token = secrets.token_hex(4)
    relay = Relay(args.url)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    results: dict = {
        "server": args.url,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "records": args.records,
        "batch": BATCH,
        "concurrency": CONCURRENCY,
        "token": token,
        "rounds": [],
    }
    health = requests.get(f"{args.url}/healthz", timeout=10).json()
    results["healthz"] = health.get("status")
    mapper = mapper_for(relay.url, key)
    first = 0  # people numbers: every side of every round writes people nobody wrote before

    def people(n: int) -> list[dict]:
        nonlocal first
        rows = []
        for i in range(first, first + n):
            row = person(i)
            row["email"] = f"p{i}.{token}@real-bench.example"
            row["other_email"] = f"o{i}.{token}@real-bench.example"
            rows.append(row)
        first += n
        return rows

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=CONCURRENCY))
    session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    def bare(rows: list[dict]) -> float:
        bodies = [
            json.dumps([mapper.map(r) for r in rows[s : s + BATCH]]).encode()
            for s in range(0, len(rows), BATCH)
        ]
        mark = relay.mark()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            statuses = list(
                pool.map(lambda b: session.post(f"{relay.url}/rest/batch/people", data=b).status_code, bodies)
            )
        if any(s != 201 for s in statuses):
            raise RuntimeError(f"bare client: answers {sorted(set(statuses))}")
        return write_phase(relay.since(mark), len(rows))

    def connector(rows: list[dict], **config) -> tuple[float, int, int]:
        mark = relay.mark()
        run = run_rows(relay.url, key, rows, **config)
        log = relay.since(mark)
        return write_phase(log, len(rows)), data_calls(log), run

    for n in range(args.rounds):
        pair = {}
        if n % 2 == 0:
            pair["bare_per_s"] = bare(people(args.records))
            pair["connector_per_s"], _, pair["exit"] = connector(people(args.records), upsert=False)
        else:
            pair["connector_per_s"], _, pair["exit"] = connector(people(args.records), upsert=False)
            pair["bare_per_s"] = bare(people(args.records))
        pair["ratio"] = pair["connector_per_s"] / pair["bare_per_s"]
        print(json.dumps(pair), flush=True)
        results["rounds"].append(pair)
    results["ratio_median"] = sorted(r["ratio"] for r in results["rounds"])[len(results["rounds"]) // 2]
    calls = {}
    for name, config in (("create people", {"upsert": False}), ("upsert people", {})):
        count = 2000
        _, used, code = connector(people(count), batch_size=200, max_concurrent_requests=4, **config)
        calls[name] = {
            "records": count,
            "calls": used,
            "per_1000": used * 1000 / count,
            "ideal": 5,
            "exit": code,
        }
        print(name, calls[name], flush=True)
    results["calls"] = calls
    relay.shutdown()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    publish(results)
    return 0


def run_rows(url: str, key: str, rows: list[dict], **config) -> int:
    """The connector's console script on `rows` (bench/common.run_sync's way, with our own rows and key)."""
    settings = {
        "requests_per_minute": 1_000_000,
        "batch_size": BATCH,
        "max_concurrent_requests": CONCURRENCY,
    }
    run = run_sync(url, len(rows), rows=rows.__getitem__, api_key=key, **{**settings, **config})
    if run.returncode != 0 or run.written != len(rows):
        raise RuntimeError(f"connector: exit {run.returncode}, {run.written} of {len(rows)} counted written")
    return run.returncode


def render(r: dict) -> str:
    rounds = ", ".join(f"{x['ratio']:.3f}" for x in r["rounds"])
    saved = HERE / "results.json"  # make bench's figures, against the emulator
    emulator = json.loads(saved.read_text()) if saved.exists() else {}
    unlimited = emulator.get("unlimited") or {}
    emulated_calls = emulator.get("calls") or {}
    no_limit = (
        f"{unlimited['ratio']:.3f} (30,000 people a side, same batch and concurrency)"
        if unlimited
        else "not measured"
    )
    lines = [
        "## The real server's side (`bench/real.py`)",
        "",
        f"Measured {r['when'][:16].replace('T', ' ')} UTC against a real Twenty at {r['server']} (the rig's v1.3 line, "
        "whose REST records are not rate-limited), through a counting relay on 127.0.0.1 that both sides share.",
        "",
        "| measure | real server | emulator (`make bench`) |",
        "|---|---|---|",
        f"| No limit: connector ÷ bare client posting the same bodies ({r['records']:,} people a side, "
        f"{r['batch']} a batch, {r['concurrency']} in flight; rounds {rounds}) | {r['ratio_median']:.3f} "
        f"(median; connector {sorted(x['connector_per_s'] for x in r['rounds'])[len(r['rounds']) // 2]:.0f} "
        f"records/s) | {no_limit} |",
    ]
    for name, c in r["calls"].items():
        emulated = emulated_calls.get(name)
        there = f"{emulated['per_1000']:.1f}" if emulated else "not measured"
        lines.append(
            f"| API calls per 1,000 records, {name} (default batch 200) | {c['per_1000']:.1f} (ideal {c['ideal']}) "
            f"| {there} |"
        )
    lines += [
        "",
        "Every person written is new (a run token in each email), so on the v1.3 line the upsert run's batches go "
        "through REST as well; upserts that meet stored records go through its GraphQL (README, Twenty versions).",
    ]
    return "\n".join(lines) + "\n"


def publish(results: dict) -> None:
    section = render(results)
    publish_section(section, START, END)


if __name__ == "__main__":
    sys.exit(main())
