"""`python bench/pacing.py`: does pacing recover after a burst of 429s? The fixed pacer and the old one, side by side.

The scenario of issue 8, item 8: 1,200 people as 20 batch upserts of 60, up to 4 in flight, against the emulator
with Twenty's default limit (100 calls/min, the lossy bucket of throttle.py) and 429s injected on the first 8
/rest/ calls. Both runs use the same TwentyClient, retries and emulator; only the pacer differs. The old pacer is
the one the connector had before this change, reimplemented below with the same arithmetic (spacing × 1.25 per
429, × 0.995 per success, pause of `Retry-After` or two intervals). A third run goes through the console script
with the fix, start-up included (there the 8 429s all meet the first call, the metadata read). A last run
without any 429 gives the floor: 20 calls at 100/min, about 12 s.

Writes bench/results/pacing.json. Usage: python bench/pacing.py [--records N]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import API_KEY, run_sync  # noqa: E402
from destination_twenty.config import TwentyConfig  # noqa: E402
from destination_twenty.twenty.client import TwentyClient  # noqa: E402
from destination_twenty.twenty.pacer import Pacer, RateLimitHint  # noqa: E402
from twenty_emulator.testing import run_emulator  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "pacing.json"
PER_MINUTE = 100
BURST = 8
BATCH = 60
IN_FLIGHT = 4


class OldPacer:
    """The pacer before this change, behind the new pacer's interface (it ignores generations and deadlines)."""

    MARGIN = 1.02
    RECOVERY = 0.995

    def __init__(self, per_minute: float):
        self.base = 60.0 / per_minute * self.MARGIN
        self.interval = self.base
        self._next = time.monotonic()
        self._lock = threading.Lock()

    @property
    def requests_per_minute(self) -> float:
        return 60.0 / self.interval

    def wait(self, deadline: float | None = None) -> int:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
        return 0

    def rate_limited(self, generation: int | None, hint: RateLimitHint) -> None:
        pause = hint.retry_after if hint.retry_after is not None else self.interval * 2
        with self._lock:
            self.interval = min(self.interval * 1.25, 60.0)
            self._next = max(self._next, time.monotonic() + pause)

    def succeeded(self, generation: int | None) -> None:
        with self._lock:
            self.interval = max(self.base, self.interval * self.RECOVERY)


def payloads(count: int) -> list[list[dict]]:
    people = [
        {
            "name": {"firstName": f"First{i}", "lastName": f"Last{i}"},
            "emails": {"primaryEmail": f"p{i}@pace.example"},
        }
        for i in range(count)
    ]
    return [people[i : i + BATCH] for i in range(0, count, BATCH)]


def through_client(emulator, pacer, count: int) -> dict:
    """The writer's shape without the writer: batches handed to 4 threads sharing one client and its pacer."""
    emulator.reset()
    config = TwentyConfig.from_mapping(
        {"api_key": API_KEY, "api_url": emulator.url, "mode": "people", "requests_per_minute": PER_MINUTE}
    )
    client = TwentyClient(config, pacer=pacer)
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            stored = sum(
                len(rows)
                for rows in pool.map(lambda b: client.create_many("people", b, True), payloads(count))
            )
    finally:
        client.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "records_stored": stored,
        "calls": client.stats.calls,
        "rate_limited": client.stats.rate_limited,
        "final_requests_per_minute": round(pacer.requests_per_minute, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1200)
    args = parser.parse_args()
    faults = "429@" + ";".join(str(n) for n in range(1, BURST + 1))
    results: dict = {
        "scenario": (
            f"{args.records} people in batches of {BATCH}, {IN_FLIGHT} in flight, requests_per_minute {PER_MINUTE}, "
            f"emulator --rate-limit {PER_MINUTE}/60 --faults {faults}"
        ),
        "ideal_seconds": round((args.records / BATCH - 1) * 60 / PER_MINUTE * Pacer.MARGIN, 1),
        "machine": platform.platform(),
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with run_emulator("--rate-limit", f"{PER_MINUTE}/60", "--faults", faults, api_key=API_KEY) as emulator:
        results["fixed_pacer"] = through_client(emulator, Pacer(PER_MINUTE), args.records)
        print("fixed pacer:", results["fixed_pacer"], flush=True)
        results["old_pacer"] = through_client(emulator, OldPacer(PER_MINUTE), args.records)
        print("old pacer:  ", results["old_pacer"], flush=True)
        emulator.reset()
        run = run_sync(emulator.url, args.records, requests_per_minute=PER_MINUTE)
        stored = len(emulator.records("people"))
        results["console_script_fixed"] = {
            "seconds": round(run.seconds, 2),
            "returncode": run.returncode,
            "records_stored": stored,
            "rate_limited": sum(1 for r in emulator.requests() if r["status"] == 429),
        }
        print("console script, fixed:", results["console_script_fixed"], flush=True)
    with run_emulator("--rate-limit", f"{PER_MINUTE}/60", api_key=API_KEY) as emulator:
        results["fixed_pacer_without_429s"] = through_client(emulator, Pacer(PER_MINUTE), args.records)
        print("fixed pacer, no 429s:", results["fixed_pacer_without_429s"], flush=True)
    results["speedup_fixed_vs_old"] = round(
        results["old_pacer"]["seconds"] / results["fixed_pacer"]["seconds"], 2
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
