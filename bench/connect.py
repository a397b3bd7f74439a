"""Links by connect against links by lookup, side by side (issue 22 §1): 10,000 people linked by domain to a CRM of
100,000 companies (each person to a different company, so no key is cached), written by the connector into two
emulators holding the same companies: the `v2` mode, which connects by key inside the write as the real v2 and
v1.3 servers do, and the `current` mode, which does not, so the connector looks the keys up (one `[in]` read per
200 distinct keys of a batch). Calls are counted from the emulator's request log (data calls: `/rest/` outside
`/rest/metadata`), with the rate limit off. Target: ≤ 52 calls with connect (50 writes, the target's size read,
the one probe).

Usage: python bench/connect.py   (writes bench/results/connect.json)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.calls import data_calls, write  # noqa: E402
from bench.common import API_KEY  # noqa: E402
from twenty_emulator.testing import run_emulator  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "connect.json"
COMPANIES = 100_000
PEOPLE = 10_000
TARGET = 52
MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
]


def seed(url: str) -> None:
    with requests.Session() as session:
        for start in range(0, COMPANIES, 200):
            body = [
                {"name": f"C{i}", "domainName": {"primaryLinkUrl": f"https://c{i}.connect.example"}}
                for i in range(start, start + 200)
            ]
            answer = session.post(
                f"{url}/rest/batch/companies",
                json=body,
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=60,
            )
            answer.raise_for_status()


def run(version: str) -> dict:
    rows = [
        {"email": f"p{i}@connect.example", "domain": f"https://c{i * 10}.connect.example"}
        for i in range(PEOPLE)
    ]
    with run_emulator("--rate-limit", "off", api_key=API_KEY, twenty_version=version) as emulator:
        seed(emulator.url)
        before, logged = data_calls(emulator), len(emulator.requests())
        started = time.monotonic()
        write(emulator.url, "people", MAPPING, rows, partial_success=True)
        seconds = time.monotonic() - started
        calls = data_calls(emulator) - before
        linked = sum(1 for p in emulator.records("people") if p.get("companyId"))
        kinds: dict[str, int] = {}
        for r in emulator.requests()[logged:]:
            if r["path"].startswith("/rest/") and not r["path"].startswith("/rest/metadata"):
                kinds[f"{r['method']} {r['path']}"] = kinds.get(f"{r['method']} {r['path']}", 0) + 1
    return {
        "version": version,
        "calls": calls,
        "linked": linked,
        "seconds": round(seconds, 1),
        "by_kind": kinds,
    }


def main() -> int:
    connect = run("v2")
    print("connect", connect, flush=True)
    lookup = run("current")
    print("lookup", lookup, flush=True)
    result = {
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "people": PEOPLE,
        "companies": COMPANIES,
        "connect": connect,
        "lookup": lookup,
        "target": TARGET,
        "pass": connect["calls"] <= TARGET and connect["linked"] == PEOPLE and lookup["linked"] == PEOPLE,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
