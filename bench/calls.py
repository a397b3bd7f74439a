"""Calls per 1,000 records, the cost that decides a sync's length under Twenty's rate limit (issue 9).

Under Twenty's limit every call costs one token whatever its size, so a sync's length is its number of calls.
For each mode, the connector (default config: batch_size 200) writes 2,000 records into the emulator with the
rate limit off, and the emulator's request log counts the data calls (`/rest/` outside `/rest/metadata`: the
metadata read happens once per sync, whatever its size). The ideal is one write per 200 records, plus one read
per 200 where the mode must read (update by id checks the ids exist; a partial LINKS write keeps the stored
label and secondary links).

Usage: python bench/calls.py   (writes bench/results/calls.json; `make bench` quotes it in bench/RESULTS.md)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import API_KEY, CONNECTOR  # noqa: E402
from twenty_emulator.testing import run_emulator  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "calls.json"
COUNT = 2000
PAGE = 200  # Twenty's batch and page maximum on the recorded server

PEOPLE = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
    {"column": "city", "field": "city"},
]


def write(
    url: str, mode: str, mapping: list[dict], rows: list[dict], **config: Any
) -> subprocess.CompletedProcess:
    settings = {
        "api_key": API_KEY,
        "api_url": url,
        "mode": mode,
        "column_mapping": mapping,
        "requests_per_minute": 1_000_000,
        **config,
    }
    catalog = {
        "streams": [
            {
                "stream": {
                    "name": "rows",
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh"],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append_dedup",
            }
        ]
    }
    lines = [
        json.dumps({"type": "RECORD", "record": {"stream": "rows", "data": r, "emitted_at": 0}}) for r in rows
    ]
    lines.append(
        json.dumps(
            {
                "type": "STATE",
                "state": {
                    "type": "STREAM",
                    "stream": {"stream_descriptor": {"name": "rows"}, "stream_state": {"n": len(rows)}},
                },
            }
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.json").write_text(json.dumps(settings))
        Path(tmp, "catalog.json").write_text(json.dumps(catalog))
        argv = [str(CONNECTOR), "write", "--config", f"{tmp}/config.json", "--catalog", f"{tmp}/catalog.json"]
        run = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"{mode} sync failed: {run.stdout[-2000:]}")
    return run


def data_calls(emulator) -> int:
    return sum(
        1
        for r in emulator.requests()
        if r["path"].startswith("/rest/") and not r["path"].startswith("/rest/metadata")
    )


def people(n: int, offset: int = 0) -> list[dict]:
    return [
        {"email": f"p{i}@calls.example", "first": f"P{i}", "city": "Lima"} for i in range(offset, offset + n)
    ]


def measure() -> dict:
    results: dict[str, dict] = {}
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:

        def case(
            name: str, ideal: int, mode: str, mapping: list[dict], rows: list[dict], **config: Any
        ) -> None:
            before = data_calls(emulator)
            write(emulator.url, mode, mapping, rows, **config)
            calls = data_calls(emulator) - before
            per_1000 = calls * 1000 / len(rows)
            results[name] = {
                "records": len(rows),
                "calls": calls,
                "per_1000": per_1000,
                "ideal_per_1000": ideal,
                "ratio": per_1000 / ideal,
            }
            print(name, results[name], flush=True)

        emulator.reset()
        case("create people", 5, "people", PEOPLE, people(COUNT), upsert=False)
        emulator.reset()
        case("upsert people", 5, "people", PEOPLE, people(COUNT))
        # Update by id: the ids of records already stored, as a warehouse that keeps Twenty's ids has them.
        ids = [p["id"] for p in emulator.records("people")]
        rows = [{"id": i, "city": "Quito"} for i in ids]
        case(
            "update people by id (read + write)",
            10,
            "people",
            [*PEOPLE, {"column": "id", "field": "id"}],
            rows,
        )
        emulator.reset()
        companies = [{"domain": f"https://c{i}.calls.example"} for i in range(COUNT)]
        case(
            "upsert companies mapping only domainName.primaryLinkUrl (read + write)",
            10,
            "companies",
            [{"column": "domain", "field": "domainName.primaryLinkUrl"}],
            companies,
        )
    return results


def lookup_cost(people_count: int = 10_000, company_count: int = 500) -> dict:
    """The calls of a people sync linking each person to a company by domain, next to the same sync without the
    link (issue 11): at most 1.05 × the calls, plus one per 200 distinct keys."""
    import requests

    companies = [
        {"domainName": {"primaryLinkUrl": f"https://c{i}.lookup.example"}} for i in range(company_count)
    ]
    rows = [
        {
            "email": f"p{i}@lookup.example",
            "first": f"P{i}",
            "city": "Lima",
            "domain": f"https://c{i % company_count}.lookup.example",
        }
        for i in range(people_count)
    ]
    counts = {}
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        for name, mapping in (
            ("without", PEOPLE),
            ("with", [*PEOPLE, {"column": "domain", "field": "company.domainName.primaryLinkUrl"}]),
        ):
            emulator.reset()
            headers = {"Authorization": f"Bearer {API_KEY}"}
            for start in range(0, company_count, 200):
                body = companies[start : start + 200]
                requests.post(f"{emulator.url}/rest/batch/companies", json=body, headers=headers, timeout=60)
            before = data_calls(emulator)
            write(emulator.url, "people", mapping, rows)
            counts[name] = data_calls(emulator) - before
            if name == "with":
                linked = sum(1 for p in emulator.records("people") if p.get("companyId"))
    allowed = 1.05 * counts["without"] + company_count / PAGE
    result = {
        **counts,
        "allowed": allowed,
        "linked": linked,
        "people": people_count,
        "companies": company_count,
    }
    print("lookup cost", result, flush=True)
    return result


def main() -> int:
    results = measure()
    results["lookup"] = lookup_cost()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    worst = max(r["ratio"] for k, r in results.items() if k != "lookup")
    lookup = results["lookup"]
    print(f"worst ratio to the ideal: {worst:.2f} (target ≤ 1.10)")
    print(
        f"company lookup: {lookup['with']} calls vs {lookup['without']} without (allowed {lookup['allowed']:.1f})"
    )
    ok = lookup["with"] <= lookup["allowed"] and lookup["linked"] == lookup["people"]
    return 0 if worst <= 1.10 and ok else 1


if __name__ == "__main__":
    sys.exit(main())
