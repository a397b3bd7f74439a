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

from bench.common import API_KEY, CONNECTOR, catalog  # noqa: E402
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
    url: str, mode: str, mapping: list[dict], rows: list[dict], primary_key: str | None = None, **config: Any
) -> subprocess.CompletedProcess:
    settings = {
        "api_key": API_KEY,
        "api_url": url,
        "mode": mode,
        "column_mapping": mapping,
        "requests_per_minute": 1_000_000,
        **config,
    }
    configured = catalog({"rows": "append_dedup"}, primary_key)
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
        Path(tmp, "catalog.json").write_text(json.dumps(configured))
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
            before = calls_with_graphql(emulator)  # a read may go through POST /graphql: one token as a GET
            write(emulator.url, mode, mapping, rows, **config)
            calls = calls_with_graphql(emulator) - before
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
        # With a primary key (Append + Deduped), each record's id comes from its key, so the read of the stored
        # links looks for 200 ids and 200 domains a batch: too long for one safe URL, one GraphQL query instead.
        emulator.reset()
        keyed = [{"key": f"k{i}", "domain": f"https://k{i}.calls.example"} for i in range(COUNT)]
        case(
            PRIMARY_KEY_CASE,
            10,
            "companies",
            [{"column": "domain", "field": "domainName.primaryLinkUrl"}],
            keyed,
            primary_key="key",
        )
    return results


def keyed_reads(count: int = COUNT) -> dict:
    """The primary-key case side by side: a server answering GraphQL record queries (one read a batch) and one
    without them (--no-graphql-queries: the GETs the connector sent before, plus the one refused query)."""
    out: dict[str, Any] = {"records": count, "target_per_1000": 10.5}
    keyed = [{"key": f"k{i}", "domain": f"https://k{i}.calls.example"} for i in range(count)]
    mapping = [{"column": "domain", "field": "domainName.primaryLinkUrl"}]
    for name, extra in (("graphql", ()), ("gets", ("--no-graphql-queries",))):
        with run_emulator("--rate-limit", "off", *extra, api_key=API_KEY) as emulator:
            write(emulator.url, "companies", mapping, keyed, primary_key="key")
            out[name] = calls_with_graphql(emulator) * 1000 / count
    print("keyed reads", out, flush=True)
    return out


PRIMARY_KEY_CASE = "upsert companies mapping only domainName.primaryLinkUrl, primary key (read + write)"


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


def sync(url: str, config: dict[str, Any], streams: dict[str, str], lines: list[dict]) -> None:
    """One write of several streams (`streams`: name → destination sync mode), messages as given."""
    settings = {"api_key": API_KEY, "api_url": url, "requests_per_minute": 1_000_000, **config}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.json").write_text(json.dumps(settings))
        Path(tmp, "catalog.json").write_text(json.dumps(catalog(streams)))
        argv = [str(CONNECTOR), "write", "--config", f"{tmp}/config.json", "--catalog", f"{tmp}/catalog.json"]
        stdin = "\n".join(json.dumps(m) for m in lines) + "\n"
        run = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        raise SystemExit(f"the sync failed: {run.stdout[-2000:]}")


def calls_with_graphql(emulator) -> int:
    """Data calls, GraphQL included (deletes go through it)."""
    return data_calls(emulator) + sum(1 for r in emulator.requests() if r["path"] == "/graphql")


def _rec(stream: str, data: dict) -> dict:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 0}}


def _state(stream: str, n: int) -> dict:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"n": n}},
        },
    }


def three_streams(companies: int = 2000, people: int = 4000, deals: int = 2000, outside: int = 400) -> dict:
    """One connection writing companies, people linked to them and opportunities linked to both (issue 21),
    beside the same sync without the links: calls ≤ 1.1 × the calls without links + one lookup per 200 distinct
    keys of records the sync does not write (`outside` companies stored before the sync, linked by some people).
    A tenth of the people arrive before any company."""
    link = {"column": "domain", "field": "domainName.primaryLinkUrl"}
    routes_with = [
        {
            "stream": "accounts",
            "mode": "companies",
            "column_mapping": [link, {"column": "name", "field": "name"}],
        },
        {
            "stream": "contacts",
            "mode": "people",
            "column_mapping": [*PEOPLE, {"column": "domain", "field": "company.domainName.primaryLinkUrl"}],
        },
        {
            "stream": "deals",
            "mode": "opportunities",
            "column_mapping": [
                {"column": "title", "field": "name"},
                {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
                {"column": "contact", "field": "pointOfContact.emails.primaryEmail"},
            ],
        },
    ]
    routes_without = [
        {
            **r,
            "column_mapping": [
                m for m in r["column_mapping"] if "." not in m["field"] or r["stream"] == "accounts"
            ],
        }
        for r in routes_with
    ]
    domain = lambda c: f"https://c{c}.three.example"  # noqa: E731
    accounts = [_rec("accounts", {"domain": domain(c), "name": f"C{c}"}) for c in range(companies)]
    contacts = [
        _rec(
            "contacts",
            {
                "email": f"p{i}@three.example",
                "first": f"P{i}",
                "city": "Lima",
                # every tenth person works at a company stored before the sync (not written by it)
                "domain": f"https://o{i % outside}.three.example" if i % 10 == 9 else domain(i % companies),
            },
        )
        for i in range(people)
    ]
    opportunities = [
        _rec(
            "deals",
            {
                "title": f"D{d}",
                "domain": domain(d % companies),
                "contact": f"p{(d * 2) % people}@three.example",
            },
        )
        for d in range(deals)
    ]
    early = people // 10
    lines = [
        *contacts[:early],
        _state("contacts", 1),
        *accounts,
        _state("accounts", 1),
        *contacts[early:],
        _state("contacts", 2),
        *opportunities,
        _state("deals", 1),
    ]
    external = {
        c["record"]["data"]["domain"]
        for c in contacts
        if ".o" in c["record"]["data"]["domain"] or "//o" in c["record"]["data"]["domain"]
    }
    counts = {}
    import requests

    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        for name, routes in (("without", routes_without), ("with", routes_with)):
            emulator.reset()
            seed = [
                {"name": f"O{o}", "domainName": {"primaryLinkUrl": f"https://o{o}.three.example"}}
                for o in range(outside)
            ]
            for start in range(0, outside, 200):
                requests.post(
                    f"{emulator.url}/rest/batch/companies",
                    json=seed[start : start + 200],
                    headers={"Authorization": f"Bearer {API_KEY}"},
                    timeout=60,
                )
            before = calls_with_graphql(emulator)
            sync(
                emulator.url,
                {"mode": "people", "streams": routes},
                {"accounts": "append_dedup", "contacts": "append_dedup", "deals": "append_dedup"},
                lines,
            )
            counts[name] = calls_with_graphql(emulator) - before
            if name == "with":
                stored_people = emulator.records("people")
                stored_deals = emulator.records("opportunities")
                linked = sum(1 for p in stored_people if p.get("companyId")) + sum(
                    1 for d in stored_deals if d.get("companyId") and d.get("pointOfContactId")
                )
    allowed = 1.1 * counts["without"] + len(external) / PAGE
    result = {
        **counts,
        "allowed": allowed,
        "external_keys": len(external),
        "linked": linked,
        "records": companies + people + deals,
        "to_link": people + deals,
    }
    print("three streams", result, flush=True)
    return result


def deletions(count: int = 2000) -> dict:
    """A delete route soft-deleting `count` companies by domain: ≤ 1.1 × one call per 200 records."""
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        companies = [{"domain": f"https://d{i}.delete.example"} for i in range(count)]
        write(
            emulator.url, "companies", [{"column": "domain", "field": "domainName.primaryLinkUrl"}], companies
        )
        before = calls_with_graphql(emulator)
        route = {
            "stream": "gone",
            "mode": "companies",
            "column_mapping": [{"column": "domain", "field": "domainName.primaryLinkUrl"}],
            "operation": "delete",
        }
        lines = [_rec("gone", c) for c in companies] + [_state("gone", count)]
        sync(emulator.url, {"mode": "companies", "streams": [route]}, {"gone": "append"}, lines)
        calls = calls_with_graphql(emulator) - before
        deleted = sum(1 for c in emulator.records("companies") if c.get("deletedAt"))
    result = {"records": count, "calls": calls, "allowed": 1.1 * count / PAGE, "deleted": deleted}
    print("deletions", result, flush=True)
    return result


def main() -> int:
    results = measure()
    results["lookup"] = lookup_cost()
    results["three_streams"] = three_streams()
    results["deletions"] = deletions()
    results["keyed_reads"] = keyed_reads()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    worst = max(r["ratio"] for k, r in results.items() if "ratio" in r)
    lookup = results["lookup"]
    print(f"worst ratio to the ideal: {worst:.2f} (target ≤ 1.10)")
    print(
        f"company lookup: {lookup['with']} calls vs {lookup['without']} without (allowed {lookup['allowed']:.1f})"
    )
    ok = lookup["with"] <= lookup["allowed"] and lookup["linked"] == lookup["people"]
    three, gone = results["three_streams"], results["deletions"]
    print(
        f"three streams: {three['with']} calls vs {three['without']} without links (allowed {three['allowed']:.1f}), "
        f"{three['linked']} of {three['to_link']} linked"
    )
    print(f"deletions: {gone['calls']} calls for {gone['records']} records (allowed {gone['allowed']:.1f})")
    ok = ok and three["with"] <= three["allowed"] and three["linked"] == three["to_link"]
    ok = ok and gone["calls"] <= gone["allowed"] and gone["deleted"] == gone["records"]
    keyed = results["keyed_reads"]
    print(
        f"keyed company upsert (domain only): {keyed['graphql']:.1f} calls per 1,000 with GraphQL reads, "
        f"{keyed['gets']:.1f} with GETs (target ≤ {keyed['target_per_1000']})"
    )
    ok = ok and keyed["graphql"] <= keyed["target_per_1000"]
    return 0 if worst <= 1.10 and ok else 1


if __name__ == "__main__":
    sys.exit(main())
