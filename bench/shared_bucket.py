"""`python bench/shared_bucket.py`: several connections sharing one workspace's bucket, on a virtual clock.

The model the turns are built and tested on (unit_tests/test_turns.py): each connection is a Pacer (pacer.py,
turns.py) with 4 workers whose calls take 80-250 ms and whose 429s are answered 0.5-3 ms after they reach the
throttler (a refused call is answered before any work: twenty_emulator/server.py checks the throttle first, and a
429 for a 60-person batch comes back 2.3-2.7 ms after it was sent, measured from a client on this machine), the server a replica of Twenty's
buckets (the emulator's throttle.Bucket, 100 per 60 s and 100 per 1 s), and a 429'd call is sent again. Nothing sleeps; every run is seeded.
Run as a script, it prints each start pattern's 429 share and pace over ten seeds (median and worst): the harness
for mending the cases README "Several connections, one workspace" lists as not yet met.
Usage: python bench/shared_bucket.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from destination_twenty.twenty.pacer import Pacer, RateLimitHint  # noqa: E402
from twenty_emulator.throttle import Bucket  # noqa: E402


class Clock:
    now = 1_000.0


def share_one_bucket(
    calls: list[int],
    seed: int = 1,
    bucket_left: int | None = None,
    starts: list[float] | None = None,
    per_minute: float = 100,
    crowding: float = 0.035,
    answers: tuple[float, float] = (0.08, 0.25),
) -> dict:
    """Each connection's calls through one bucket of 100 per 60 s (holding `bucket_left` tokens at the start, when
    given); a 429'd call is sent again. A call reaches the throttler 3-7 ms after it is sent, and one sent within
    25 ms of another of its connection's up to `crowding` s later (both bodies are read at once: the emulator's
    log of the single-connection ceiling run shows such calls arriving up to 35 ms apart)."""
    rnd = random.Random(seed)
    clock = Clock()
    long, short = Bucket(100, 60_000), Bucket(100, 1_000)
    if bucket_left is not None:  # what a sync that just ended left
        long.tokens, long.last_refill_ms = bucket_left, clock.now * 1000
    pacers = [
        Pacer(
            per_minute,
            clock=lambda: clock.now,
            sleep=lambda _: False,
            wall=lambda: clock.now + 1.7e9,
            rng=random.Random(seed * 100 + n),
        )
        for n in range(len(calls))
    ]
    left = list(calls)
    last_send = [float("-inf")] * len(calls)
    events: list = []
    order = 0

    def push(at: float, *what) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, *what))

    for n in range(len(calls)):
        start = clock.now + (starts[n] if starts else rnd.uniform(0, 0.3))
        for _ in range(4):
            left[n] -= 1
            push(start, "ready", n)
    passed, refused, finished = [], 0, [0.0] * len(calls)
    switches: list[tuple[float, str]] = []
    for _ in range(1_000_000):  # bounded; ends when every call went through
        if not events:
            break
        at, _, kind, n, *answer = heapq.heappop(events)
        clock.now = at
        pacer = pacers[n]
        if kind == "ready":
            go, value = pacer.turn()
            if not go:
                push(at + value + rnd.uniform(0, 0.004), "ready", n)  # thread wake-ups are late by a few ms
                continue
            crowded = at - last_send[n] < 0.025
            last_send[n] = at
            push(at + 0.003 + rnd.uniform(0, crowding if crowded else 0.004), "arrive", n, value)
        elif kind == "arrive":
            (ticket,) = answer
            through = short.take(at * 1000) and long.take(at * 1000)
            if through:
                passed.append(at)
            answered = rnd.uniform(*answers) if through else rnd.uniform(0.0005, 0.003)  # a 429 does no work
            push(at + answered, "answer", n, ticket, through)
        else:
            ticket, through = answer
            if through:
                sharing = pacer.turns is not None
                pacer.succeeded(ticket)
                if sharing and pacer.turns is None:
                    switches.append((at - 1_000.0, "alone"))
                finished[n] = at
                if left[n] > 0:
                    left[n] -= 1
                    push(at + 0.001, "ready", n)
            else:
                refused += 1
                pacer.rate_limited(ticket, RateLimitHint())
                push(at, "ready", n)
    ideal = (len(passed) - (100 if bucket_left is None else bucket_left)) * 0.6
    return {
        "shared_until": max((t for t, kind in switches if kind == "alone"), default=None),
        "passed": len(passed),
        "refused": refused,
        "ratio": ideal / (passed[-1] - passed[0]),
        "finished": finished,
        "pacers": pacers,
    }


CASES = {
    "1 alone": {"calls": [334]},
    "1 on a bucket left at 20": {"calls": [334], "bucket_left": 20},
    "2 together": {"calls": [334] * 2},
    "4 together": {"calls": [334] * 4},
    "2, a minute apart": {"calls": [334] * 2, "starts": [0.0, 60.0]},
    "4 within 2 s": {"calls": [334] * 4, "starts": [0.0, 0.67, 1.33, 2.0]},
    "4 together, fast answers": {"calls": [334] * 4, "answers": (0.005, 0.02)},
    "4, one 1 s late": {"calls": [334] * 4, "starts": [0.0, 0.0, 0.0, 1.0]},
    "4, one 2 s late": {"calls": [334] * 4, "starts": [0.0, 0.0, 0.0, 2.0]},
    "4, 1 s apart": {"calls": [334] * 4, "starts": [0.0, 1.0, 2.0, 3.0]},
    "4, 2 s apart": {"calls": [334] * 4, "starts": [0.0, 2.0, 4.0, 6.0]},
    "4, one a minute late": {"calls": [334] * 4, "starts": [0.0, 0.2, 0.4, 60.0]},
    "150 and 600 calls": {"calls": [150, 600]},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    print(f"{'case':26} {'429s median':>12} {'worst':>7} {'pace median':>12} {'worst':>7}")
    for name, case in CASES.items():
        runs = [share_one_bucket(seed=seed, **case) for seed in range(1, args.seeds + 1)]
        shares = sorted(r["refused"] / (r["passed"] + r["refused"]) for r in runs)
        paces = sorted(r["ratio"] for r in runs)
        middle = len(runs) // 2
        print(f"{name:26} {shares[middle]:12.1%} {shares[-1]:7.1%} {paces[middle]:12.3f} {paces[0]:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
