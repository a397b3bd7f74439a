"""`python bench/connections.py`: several connections writing into one workspace at once (issue 22, section 3).

Airbyte runs connections in parallel (one pod each on Kubernetes), and every one of them draws on the same
workspace's budget. Here 1, 2 and 4 connector processes (`destination-twenty write`: 4 in flight,
requests_per_minute 100, batches of 60 as Twenty Cloud allows; `--batch 200` for the self-hosted default) each
write their own 20,000 people into ONE emulator playing Twenty's throttler at its real scale (`--rate-limit
100/60`: 100 tokens, refilled lossily, one per 0.6 s; twenty_emulator/throttle.py). Nothing is compressed: the
figures are in real seconds (a run of 4 takes about 13 minutes).

Per run, from the emulator's request log: the calls that passed the throttler, the 429s, and the aggregate pace
as the ratio of the limiter's ideal time for those calls (the full bucket for nothing, then one call per 0.6 s)
to the time from the first write to the last. Every sync must be exact: exit 0, the records its STATE messages
count equal to the people it was given, and the emulator holding exactly every person of every sync.

Writes bench/results/connections.json and its section of bench/RESULTS.md (quoted in the README).
`--ceiling-against REV` measures instead the single connection's rate-limit ceiling (run_all.py's) for this code
and for the connector of git revision REV, side by side, into bench/results/ceiling_pair.json; `--publish`
rewrites the section from the saved figures.
Usage: python bench/connections.py [--people N] [--connections 1,2,4] [--batch 60] [--ceiling-against REV]
[--publish]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import API_KEY, publish_section, run_sync  # noqa: E402
from twenty_emulator.testing import run_emulator  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "connections.json"
PAIR = HERE / "results" / "ceiling_pair.json"
START, END = "<!-- connections -->\n", "<!-- /connections -->"
LIMIT, WINDOW = 100, 60  # Twenty's default, as Cloud runs it


def ideal_seconds(calls: int) -> float:
    return max(0, calls - LIMIT) * WINDOW / LIMIT


def stamp(row: dict) -> float:
    return datetime.fromisoformat(row["time"].replace("Z", "+00:00")).timestamp()


def stored_emails(db: Path) -> list[str]:
    """Every live person's email, read from the emulator's SQLite file (80,000 records are too many for its
    inspection door to serialise in time on a busy machine)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data FROM t_person WHERE deleted_at IS NULL").fetchall()
    return [(json.loads(data).get("emails") or {}).get("primaryEmail") for (data,) in rows]


def measure(connections: int, people: int, batch: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp, "twenty.db")
        with run_emulator("--rate-limit", f"{LIMIT}/{WINDOW}", "--db", str(db), api_key=API_KEY) as emulator:
            with ThreadPoolExecutor(connections) as pool:
                runs = list(
                    pool.map(
                        lambda n: run_sync(
                            emulator.url,
                            people,
                            first=n * people,
                            requests_per_minute=LIMIT,
                            batch_size=batch,
                        ),
                        range(connections),
                    )
                )
            log = [
                r
                for r in emulator.requests()
                if r["path"].startswith("/rest/") and "/metadata/" not in r["path"]
            ]
        emails = stored_emails(db)
    passed = [r for r in log if r["status"] != 429]
    refused = len(log) - len(passed)
    writes = sorted(stamp(r) for r in passed if r["method"] == "POST")
    taken = writes[-1] - writes[0] if len(writes) > 1 else float("nan")
    expected = {f"person.{i}@bench.example" for i in range(connections * people)}
    ideal = ideal_seconds(len(passed))
    return {
        "connections": connections,
        "people_each": people,
        "batch_size": batch,
        "calls_passed": len(passed),
        "http_429": refused,
        "share_429": refused / max(len(log), 1),
        "write_phase_s": round(taken, 1),
        "ideal_s": ideal,
        "aggregate_ratio": (ideal / taken) if ideal and taken else None,
        "calls_per_minute": round(len(passed) / taken * 60, 1) if taken else None,
        # when each 429 came, in seconds from the first write: the first bucket's, the turns' settling, probes
        "refused_at_s": [round(stamp(r) - writes[0], 1) for r in log if r["status"] == 429] if writes else [],
        "syncs": [
            {"exit": r.returncode, "seconds": round(r.seconds, 1), "state_count": r.written} for r in runs
        ],
        "exact": all(r.returncode == 0 and r.written == people for r in runs)
        and len(emails) == connections * people
        and set(emails) == expected,
    }


def ceiling_pair(revision: str) -> dict:
    """run_all.ceiling for this code, then for `revision`'s connector (its package first on PYTHONPATH)."""
    from bench.run_all import ceiling

    root = HERE.parent
    archive = subprocess.run(
        ["git", "archive", revision, "destination_twenty"], cwd=root, capture_output=True, check=True
    ).stdout
    pair = {"revision": revision, "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory() as old:
        tarfile.open(fileobj=io.BytesIO(archive)).extractall(old, filter="data")
        pair["this"] = ceiling(60_000)
        print("this code:", pair["this"], flush=True)
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = old
        try:
            pair["before"] = ceiling(60_000)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH")
            else:
                os.environ["PYTHONPATH"] = saved
        print(f"{revision}:", pair["before"], flush=True)
    PAIR.write_text(json.dumps(pair, indent=2) + "\n")
    return pair


def result_files() -> list[Path]:
    """This code's runs (batch 60 first), then the runs of the code before, kept in connections_before.json."""
    found = sorted(
        HERE.glob("results/connections*.json"), key=lambda p: (p.name != "connections.json", p.name)
    )
    return [p for p in found if p.name != "connections_before.json"] + [
        p for p in found if p.name == "connections_before.json"
    ]


def results_path(batch: int) -> Path:
    return RESULTS if batch == 60 else RESULTS.with_name(f"connections_batch{batch}.json")


def render(sets: list[dict], pair: dict | None) -> str:
    lines = [
        "## Several connections, one workspace (`bench/connections.py`)",
        "",
        "N connector processes, each writing its own 20,000 people (4 in flight, requests_per_minute 100) into one "
        "emulator at Twenty's real limit (`--rate-limit 100/60`); real time, nothing compressed. The pace is the "
        "limiter's ideal time for the calls that passed (the full bucket for nothing, then one call per 0.6 s) ÷ "
        "the time from the first write to the last (targets: ≥ 0.9, 429s ≤ 2 % of the calls answered); exact = "
        "every sync exited 0, its STATE counts equal its people, and the emulator holds exactly every person of "
        "every sync.",
        "",
        "| code, measured | batch | connections | calls through | 429s | aggregate pace | calls/min | syncs' seconds "
        "| exact |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for results in sets:
        code = results.get("code", "this change")
        when = results["when"][:16].replace("T", " ")
        for run in results["runs"]:
            pace = run["aggregate_ratio"]
            lines.append(
                f"| {code}, {when} | {run.get('batch_size', 200)} | {run['connections']} | {run['calls_passed']} | "
                f"{run['http_429']} ({run['share_429']:.2%}) | {'n/a' if pace is None else f'{pace:.3f}'} | "
                f"{run['calls_per_minute']} | {', '.join(str(s['seconds']) for s in run['syncs'])} | "
                f"{'yes' if run['exact'] else 'NO'} |"
            )
    lines += [
        "",
        "Batches of 60 are Twenty Cloud's maximum; at 200 a batch a sync of 20,000 people is 100 calls, all of them "
        "within the first bucket when it runs alone (pace n/a), and the calls in flight when the shared bucket "
        "runs dry (4 a connection) weigh more against so few calls.",
    ]
    if pair:
        this, before = pair["this"], pair["before"]
        lines += [
            "",
            f"Single connection's rate-limit ceiling (run_all.py's: 60,000 people, 200 a batch, 100/60), this code "
            f"and {pair['revision'][:7]} side by side ({pair['when'][:16].replace('T', ' ')} UTC): "
            f"{this['ratio']:.3f} ({this['http_429']} 429s) vs {before['ratio']:.3f} ({before['http_429']} 429s).",
            *([pair["note"]] if pair.get("note") else []),
        ]
    notes = [results["note"] for results in sets if results.get("note")]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def publish() -> None:
    sets = [json.loads(p.read_text()) for p in result_files()]
    pair = json.loads(PAIR.read_text()) if PAIR.exists() else None
    section = render(sets, pair)
    publish_section(section, START, END)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--connections", default="1,2,4")
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--ceiling-against", metavar="REV")
    parser.add_argument("--publish", action="store_true")
    args = parser.parse_args()
    if args.ceiling_against:
        ceiling_pair(args.ceiling_against)
        publish()
        return 0
    if args.publish:
        publish()
        return 0
    results = {
        "scenario": (
            f"N connector processes × {args.people} people, {args.batch} a batch, 4 in flight, "
            f"requests_per_minute {LIMIT}, one emulator --rate-limit {LIMIT}/{WINDOW}"
        ),
        "machine": platform.platform(),
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runs": [],
    }
    for n in (int(x) for x in args.connections.split(",")):
        result = measure(n, args.people, args.batch)
        print(json.dumps(result), flush=True)
        results["runs"].append(result)
    RESULTS.parent.mkdir(exist_ok=True)
    results_path(args.batch).write_text(json.dumps(results, indent=2) + "\n")
    publish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
