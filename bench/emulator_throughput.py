"""Emulator throughput: upsert 30,000 people in 60-record batches through a few concurrent clients.

Run: ``.venv/bin/python bench/emulator_throughput.py [--records N] [--clients C]``. Prints records/s and
writes the result line to bench/results/emulator_throughput.txt. The target is >= 3,000 records/s on a
2-core machine; bodies are built before the clock starts so the figure measures the emulator.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twenty_emulator.testing import run_emulator  # noqa: E402

TARGET = 3000.0
BATCH = 60


def build_bodies(total: int) -> list[bytes]:
    bodies = []
    for start in range(0, total, BATCH):
        batch = [
            {
                "name": {"firstName": f"First{i}", "lastName": f"Last{i}"},
                "emails": {"primaryEmail": f"person{i}@bench.example"},
                "jobTitle": "Engineer",
                "city": "Paris",
                "phones": {"primaryPhoneNumber": "+33 6 12 34 56 78"},
                "linkedinLink": {"primaryLinkUrl": f"https://linkedin.com/in/p{i}"},
            }
            for i in range(start, min(start + BATCH, total))
        ]
        bodies.append(json.dumps(batch).encode())
    return bodies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    bodies = build_bodies(args.records)
    errors: list[str] = []

    with run_emulator("--rate-limit", "off", api_key="bench-key") as emu:
        url = emu.url + "/rest/batch/people?upsert=true"
        headers = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}
        lock = threading.Lock()
        pending = list(reversed(bodies))

        def worker():
            with requests.Session() as session:
                while True:
                    with lock:
                        if not pending:
                            return
                        body = pending.pop()
                    resp = session.post(url, data=body, headers=headers, timeout=60)
                    if resp.status_code != 201:
                        errors.append(f"{resp.status_code} {resp.text[:200]}")
                        return

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        stored = len(emu.records("people"))

    rate = args.records / elapsed
    status = "PASS" if rate >= TARGET and not errors and stored >= args.records else "FAIL"
    line = (
        f"emulator_throughput: {args.records} people upserted in {len(bodies)} batches of {BATCH} by "
        f"{args.clients} clients in {elapsed:.2f}s = {rate:.0f} records/s (target >= {TARGET:.0f}) {status}"
    )
    print(line)
    if errors:
        print("errors:", errors[:3])
    out = ROOT / "bench" / "results" / "emulator_throughput.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(line + "\n", encoding="utf-8")
    return 0 if status == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
