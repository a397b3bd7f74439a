"""`make bench`: the write-path figures of issue 4, each a ratio measured side by side in one run.

Writes bench/RESULTS.md (quoted by the README). Everything talks to a local emulator on 127.0.0.1.
Usage: python bench/run_all.py [--quick]   (--quick: smaller counts, for a smoke run)
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import calls as calls_bench  # noqa: E402
from bench import real as real_bench  # noqa: E402  (its section quotes this run's figures beside the real server's)
from bench.common import API_KEY, PEOPLE_MAPPING, messages, person, run_sync  # noqa: E402
from destination_twenty.airbyte.protocol import read_messages  # noqa: E402
from destination_twenty.config import ColumnMap  # noqa: E402
from destination_twenty.mapping.mapper import Mapper  # noqa: E402
from destination_twenty.mapping.schema import find_object  # noqa: E402
from destination_twenty.write.messages import Record  # noqa: E402
from twenty_emulator.testing import run_emulator  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
RATE = 20  # requests/s: a compressed stand-in for Twenty Cloud's 100/min
BATCH = 60


def write_phase(emulator, count: int) -> float:
    """Records/s over the write phase as the server saw it: from the first batch call to the last.

    Both sides of every ratio are measured this way, so process start-up (about 1.5 s to import the Airbyte CDK)
    does not count: against Twenty Cloud's 100 calls/min a sync of this size takes minutes, not seconds.
    """
    stamps = [
        datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        for r in emulator.requests()
        if r["path"].startswith("/rest/batch/") or (r["method"] == "POST" and r["path"].startswith("/rest/"))
    ]
    calls = len(stamps)
    # n calls span n-1 gaps; add one mean gap for the last call's own time.
    span = (stamps[-1] - stamps[0]) * calls / max(calls - 1, 1)
    return count / span


def people_mapper(url: str) -> Mapper:
    """The connector's mapper for the benchmark's People mapping, with the schema read from the emulator's metadata."""
    objects = requests.get(
        f"{url}/rest/metadata/objects", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30
    ).json()["data"]["objects"]
    mapping = [ColumnMap(m["column"], m["field"], tuple(m.get("transforms", []))) for m in PEOPLE_MAPPING]
    return Mapper(mapping, find_object(objects, "people"))


def rate_limited(count: int) -> dict:
    """Connector under the emulator's real throttler at RATE req/s: achieved ÷ (RATE × batch)."""
    with run_emulator("--rate-limit", f"{RATE}/1", api_key=API_KEY) as emulator:
        run = run_sync(emulator.url, count, requests_per_minute=RATE * 60, batch_size=BATCH)
        rejected_429 = sum(1 for r in emulator.requests() if r.get("status") == 429)
        stored = len(emulator.records("people"))
        achieved = write_phase(emulator, count)
    ceiling = RATE * BATCH
    return {
        "records": count,
        "stored": stored,
        "records_per_s": achieved,
        "end_to_end_per_s": run.records_per_second,
        "ceiling_per_s": ceiling,
        "ratio": achieved / ceiling,
        "http_429": rejected_429,
        "exit": run.returncode,
    }


LIMIT, WINDOW = (
    100,
    60,
)  # Twenty's default: 100 calls per 60 s, refilled lossily (twenty_emulator/throttle.py)


def ideal_seconds(calls: int) -> float:
    """The fastest the real limiter allows: the full bucket for nothing, then one call per window/limit seconds."""
    return max(0, calls - LIMIT) * WINDOW / LIMIT


def ceiling(count: int) -> dict:
    """The connector (default config: 200 a batch, 100 calls/min) under the real limiter's shape: the ideal time
    for the calls it made ÷ the time its write phase took, from the first write call to the last."""
    with run_emulator("--rate-limit", f"{LIMIT}/{WINDOW}", api_key=API_KEY) as emulator:
        run = run_sync(emulator.url, count, requests_per_minute=LIMIT, batch_size=200)
        log = emulator.requests()
        writes = [
            r for r in log if r["method"] == "POST" and r["path"].startswith("/rest/") and r["status"] == 201
        ]
        refused = sum(1 for r in log if r.get("status") == 429)
        stored = stored_count(emulator)
        stamps = [datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp() for r in writes]
        calls = sum(
            1 for r in log if r["path"].startswith("/rest/") and r.get("status") != 429
        )  # tokens spent
    taken = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    ideal = ideal_seconds(calls)
    return {
        "records": count,
        "stored": stored,
        "calls": calls,
        "http_429": refused,
        "write_phase_s": taken,
        "ideal_s": ideal,
        "ratio": ideal / taken if taken else float("nan"),
        "records_per_minute": count / taken * 60 if taken else float("nan"),
        "exit": run.returncode,
    }


def one_per_call_real(calls: int) -> dict:
    """The common integration's way under the same limiter: one POST per record, paced as well as the limiter
    allows (the burst, then one per window/limit, a 429 answered by waiting for the next token)."""
    with run_emulator("--rate-limit", f"{LIMIT}/{WINDOW}", api_key=API_KEY) as emulator:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
        mapper = people_mapper(emulator.url)
        sent, i = 0, 0
        started = time.perf_counter()
        next_slot = started
        for _ in range(calls * 3):  # bounded: each 429 costs one extra try
            if sent >= calls:
                break
            now = time.perf_counter()
            if now < next_slot:
                time.sleep(next_slot - now)
            response = session.post(
                f"{emulator.url}/rest/people?upsert=true", data=json.dumps(mapper.map(person(i)))
            )
            if response.status_code == 201:
                sent += 1
                i += 1
                if sent >= LIMIT:  # the burst is spent: one token per window/limit from now on
                    next_slot = time.perf_counter() + WINDOW / LIMIT * 1.01
            elif response.status_code == 429:
                next_slot = time.perf_counter() + WINDOW / LIMIT
            else:
                raise RuntimeError(f"one-per-call baseline got {response.status_code}: {response.text[:200]}")
        taken = time.perf_counter() - started
    return {"records": sent, "seconds": taken, "records_per_minute": sent / taken * 60}


def one_per_call(seconds: float) -> dict:
    """The common integration's way: one POST per record, paced at the same limit. Runs for `seconds`."""
    with run_emulator("--rate-limit", f"{RATE}/1", api_key=API_KEY) as emulator:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
        mapper = people_mapper(emulator.url)
        sent, started, i = 0, time.perf_counter(), 0
        next_slot = started
        while time.perf_counter() - started < seconds:
            now = time.perf_counter()
            if now < next_slot:
                time.sleep(next_slot - now)
            next_slot = max(next_slot, time.perf_counter()) + 1.0 / RATE * 1.02
            response = session.post(
                f"{emulator.url}/rest/people?upsert=true", data=json.dumps(mapper.map(person(i)))
            )
            if response.status_code == 201:
                sent += 1
                i += 1
            elif response.status_code == 429:
                next_slot += 1.0 / RATE
            else:
                raise RuntimeError(f"one-per-call baseline got {response.status_code}: {response.text[:200]}")
        elapsed = time.perf_counter() - started
        achieved = write_phase(emulator, sent)
    return {"records": sent, "records_per_s": achieved, "end_to_end_per_s": sent / elapsed}


def unlimited(count: int, concurrency: int = 4, rounds: int = 3) -> dict:
    """Connector vs a bare client posting the same pre-built JSON batches with the same concurrency.

    The machine is shared, so one pair of runs can differ by ±0.15 from the next: the two sides run in turn,
    `rounds` times (bare first, then connector first, ...), and the median of the rounds' ratios is reported."""
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        mapper = people_mapper(emulator.url)  # the payloads the connector sends, built beforehand
        bodies = [
            json.dumps([mapper.map(person(i)) for i in range(start, min(start + BATCH, count))]).encode()
            for start in range(0, count, BATCH)
        ]
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=concurrency)
        session.mount("http://", adapter)
        session.headers.update({"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
        url = f"{emulator.url}/rest/batch/people?upsert=true"

        def post(body: bytes) -> int:
            return session.post(url, data=body).status_code

        def bare_side() -> float:
            emulator.reset()
            with ThreadPoolExecutor(concurrency) as pool:
                statuses = list(pool.map(post, bodies))
            assert all(s == 201 for s in statuses), set(statuses)
            return write_phase(emulator, count)

        def connector_side() -> tuple[float, object, int]:
            emulator.reset()
            run = run_sync(emulator.url, count, max_concurrent_requests=concurrency, batch_size=BATCH)
            return write_phase(emulator, count), run, len(emulator.records("people"))

        pairs = []
        for n in range(rounds):
            if n % 2 == 0:
                bare = bare_side()
                connector, run, stored = connector_side()
            else:
                connector, run, stored = connector_side()
                bare = bare_side()
            pairs.append({"connector_per_s": connector, "bare_per_s": bare, "ratio": connector / bare})
            if stored != count or run.returncode != 0:
                break  # reported as a failure below
    median = sorted(pairs, key=lambda p: p["ratio"])[len(pairs) // 2]
    return {
        "records": count,
        "stored": stored,
        "connector_per_s": median["connector_per_s"],
        "connector_end_to_end_per_s": run.records_per_second,
        "bare_per_s": median["bare_per_s"],
        "ratio": median["ratio"],
        "rounds": [round(p["ratio"], 3) for p in pairs],
        "exit": run.returncode,
    }


def pipeline(count: int) -> dict:
    """Mapping and transforms alone, on one core (this process, one thread), with the People schema read from
    the emulator's metadata as the connector reads it, so every type coercion runs. Also stdin parsing + mapping."""
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        mapper = people_mapper(emulator.url)
    rows = [person(i) for i in range(count)]
    started = time.perf_counter()
    for row in rows:
        mapper.map(row)
    seconds = time.perf_counter() - started
    lines = list(messages(count))
    started = time.perf_counter()
    for message in read_messages(lines):
        if isinstance(message, Record):
            mapper.map(message.data)
    with_parsing = time.perf_counter() - started
    return {
        "records": count,
        "records_per_s": count / seconds,
        "with_stdin_parsing_per_s": count / with_parsing,
    }


def stored_count(emulator) -> int:
    """People stored, from the API's totalCount (listing 200,000 records through the inspection door is slow)."""
    for _ in range(10):  # under the limiter the sync may have spent the last token: wait for the next one
        response = requests.get(
            f"{emulator.url}/rest/people",
            params={"limit": "1"},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=60,
        )
        if response.status_code != 429:
            break
        time.sleep(1)
    return response.json()["totalCount"]


def memory(small: int, large: int) -> dict:
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        first = run_sync(emulator.url, small)
        emulator.reset()
        second = run_sync(emulator.url, large)
        stored = stored_count(emulator)
    return {
        "small": small,
        "large": large,
        "small_rss_mb": first.peak_rss_mb,
        "large_rss_mb": second.peak_rss_mb,
        "ratio": second.peak_rss_mb / first.peak_rss_mb,
        "large_stored": stored,
        "exit": (first.returncode, second.returncode),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smaller counts (a smoke run; not for RESULTS.md)"
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    results = {}
    print("calls per 1,000 records …", flush=True)
    results["calls"] = calls_bench.measure()
    results["lookup"] = calls_bench.lookup_cost(10_000 // scale, 500 // scale)
    print("rate-limit ceiling, the real limiter's shape …", flush=True)
    results["ceiling"] = ceiling(60_000 // scale)
    print(results["ceiling"], flush=True)
    print("one record per call under the same limiter …", flush=True)
    results["one_per_call"] = one_per_call_real(300 // scale)
    print(results["one_per_call"], flush=True)
    results["speedup"] = (
        results["ceiling"]["records_per_minute"] / results["one_per_call"]["records_per_minute"]
    )
    print("no limit …", flush=True)
    results["unlimited"] = unlimited(30_000 // scale)
    print(results["unlimited"], flush=True)
    print("pipeline …", flush=True)
    results["pipeline"] = pipeline(200_000 // scale)
    print(results["pipeline"], flush=True)
    print("memory …", flush=True)
    results["memory"] = memory(20_000 // scale, 200_000 // scale)
    print(results["memory"], flush=True)
    startup = RESULTS.parent / "results" / "startup.json"
    results["startup"] = json.loads(startup.read_text()) if startup.exists() else None
    report = render(results, quick=args.quick)
    print(report)
    if not args.quick:
        RESULTS.write_text(report + carried_sections())
        quote_in_readme(report)
        (RESULTS.parent / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        if real_bench.RESULTS.exists():
            real_bench.publish(json.loads(real_bench.RESULTS.read_text()))
    return 0 if all(passed(results).values()) else 1


def carried_sections() -> str:
    """The sections other benchmarks keep in RESULTS.md, each between its markers (bench/connections.py's,
    bench/real.py's, bench/real_connections.py's), carried over as they are."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    blocks = re.finditer(r"<!-- ([a-z-]+) -->\n.*?<!-- /\1 -->", text, flags=re.S)
    return "".join("\n" + block.group(0) + "\n" for block in blocks)


def quote_in_readme(report: str) -> None:
    """The README quotes the table between its bench-results markers; keep that quote equal to RESULTS.md."""
    readme = RESULTS.parents[1] / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench-results -->\n", "<!-- /bench-results -->"
    if start in text and end in text:
        lines = report.splitlines()
        measured = "\n".join(line for line in lines if line.startswith("Measured"))
        table = measured + "\n\n" + "\n".join(line for line in lines if line.startswith("|"))
        head, rest = text.split(start, 1)
        readme.write_text(head + start + table + "\n" + end + rest.split(end, 1)[1])


def passed(r: dict) -> dict[str, bool]:
    return {
        "calls": max(c["ratio"] for c in r["calls"].values()) <= 1.10,
        "lookup": r["lookup"]["with"] <= r["lookup"]["allowed"]
        and r["lookup"]["linked"] == r["lookup"]["people"],
        "ceiling": r["ceiling"]["ratio"] >= 0.97 and r["ceiling"]["stored"] == r["ceiling"]["records"],
        "unlimited": r["unlimited"]["ratio"] >= 0.85
        and r["unlimited"]["stored"] == r["unlimited"]["records"]
        and r["unlimited"]["exit"] == 0,
        "speedup": r["speedup"] >= 190,
        "pipeline": r["pipeline"]["records_per_s"] >= 50_000,
        "memory": r["memory"]["ratio"] <= 1.2 and r["memory"]["large_rss_mb"] < 200,
    }


def render(r: dict, quick: bool) -> str:
    ok = passed(r)
    mark = {True: "pass", False: "FAIL"}
    ce, un, pl, mem, one = r["ceiling"], r["unlimited"], r["pipeline"], r["memory"], r["one_per_call"]
    calls = "; ".join(
        f"{name}: {c['per_1000']:.1f} (ideal {c['ideal_per_1000']})" for name, c in r["calls"].items()
    )
    worst = max(c["ratio"] for c in r["calls"].values())
    spec = (
        (r.get("startup") or {}).get("commands", {}).get("spec", {})
        if isinstance(r.get("startup"), dict)
        else {}
    )
    lines = [
        "# Write-path benchmark results",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make bench` (`bench/run_all.py`)"
        + (" — QUICK smoke run, reduced counts" if quick else "")
        + f", on {platform.machine()} with {platform.python_implementation()} {platform.python_version()}, "
        "2 cores shared by the connector and the emulator. Every ratio is of two runs made side by side, or of a "
        "run and the limiter's own arithmetic. Throughputs are measured over the write phase as the emulator logged "
        "it (first write call to last), for both sides alike; end-to-end figures are in `bench/results.json`.",
        "",
        "| measure | target | measured | result |",
        "|---|---|---|---|",
        f"| API calls per 1,000 records, default config (`bench/calls.py`): {calls} | ≤ 1.10 × ideal "
        f"| worst {worst:.2f} × | {mark[ok['calls']]} |",
        f"| A {r['lookup']['people']:,}-person sync linking each to one of {r['lookup']['companies']} companies by "
        f"domain: {r['lookup']['with']} calls vs {r['lookup']['without']} without the link | ≤ 1.05 × + 1 per 200 "
        f"keys = {r['lookup']['allowed']:.1f} | {r['lookup']['with']} | {mark[ok['lookup']]} |",
        f"| Rate-limit ceiling: {ce['records']:,} people under Twenty's limiter (100 calls / 60 s, lossy refill), "
        f"{ce['calls']} calls in {ce['write_phase_s']:.1f} s; ideal {ce['ideal_s']:.1f} s | ≥ 0.97 | {ce['ratio']:.3f} "
        f"({ce['http_429']} answers were 429) | {mark[ok['ceiling']]} |",
        f"| Records per minute under the same limiter vs one record per call ({one['records_per_minute']:.0f}/min, "
        f"{one['records']} calls) | ≥ 190× | {r['speedup']:.0f}× | {mark[ok['speedup']]} |",
        f"| No limit: connector {un['connector_per_s']:.0f} records/s ÷ bare client {un['bare_per_s']:.0f} records/s "
        f"({un['records']:,} people, 60 a batch, 4 in flight; median of {len(un.get('rounds', [1]))} rounds "
        f"{', '.join(f'{x:.3f}' for x in un.get('rounds', []))}) | ≥ 0.85 | {un['ratio']:.3f} | {mark[ok['unlimited']]} |",
        f"| Mapping and transform pipeline alone, one core, People schema ({pl['records']:,} records; with stdin "
        f"JSON parsing: {pl['with_stdin_parsing_per_s']:,.0f} records/s) | ≥ 50,000 records/s "
        f"| {pl['records_per_s']:,.0f} records/s | {mark[ok['pipeline']]} |",
        f"| Peak RSS writing {mem['large']:,} ÷ writing {mem['small']:,} records (200 a batch) | ≤ 1.2 and < 200 MB "
        f"| {mem['ratio']:.2f} ({mem['large_rss_mb']:.0f} MB vs {mem['small_rss_mb']:.0f} MB) | {mark[ok['memory']]} |",
    ]
    if spec:
        lines.append(
            f"| `destination-twenty spec` start-up (`bench/startup.py`, median of {spec.get('runs')} runs, measured "
            f"{(r.get('startup') or {}).get('measured_at', '')[:10]}) | < 0.4 s "
            f"| {spec.get('median_s')} s | {mark[spec.get('median_s', 9) < 0.4]} |"
        )
    lines += [
        "",
        "Every run stored exactly the records it was given (checked by reading the emulator back).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
