"""The throttler: the real token bucket with its lossy refill, unit-tested on a synthetic clock, then live."""

from __future__ import annotations

import time

import requests

from twenty_emulator.testing import run_emulator
from twenty_emulator.throttle import Bucket, Throttle, parse_rate_limit


def served(bucket_or_throttle, times_ms) -> list[bool]:
    if isinstance(bucket_or_throttle, Bucket):
        return [bucket_or_throttle.take(t) for t in times_ms]
    return [bucket_or_throttle.check(t) is None for t in times_ms]


def test_first_hundred_then_a_fast_client_gets_nothing_back():
    bucket = Bucket(100, 60_000)
    # Every 500 ms: faster than one token per 600 ms, so each success resets the clock and refills 0.
    results = served(bucket, [i * 500 for i in range(101)])
    assert results == [True] * 100 + [False]


def test_evenly_spaced_client_is_served_indefinitely():
    bucket = Bucket(100, 60_000)
    assert all(served(bucket, [i * 600 for i in range(500)]))


def test_refused_request_does_not_reset_the_clock():
    bucket = Bucket(100, 60_000)
    served(bucket, [0] * 100)
    assert served(bucket, [300, 599, 600, 900, 1199, 1200]) == [False, False, True, False, False, True]


def test_lossy_refill_drops_the_fraction():
    bucket = Bucket(100, 60_000)
    served(bucket, [0] * 100)
    # 1,100 ms accrue 1.83 tokens: one is granted, the 0.83 is thrown away with the clock reset.
    assert served(bucket, [1100, 1100, 1700, 1700]) == [True, False, True, False]


def test_after_exhaustion_a_500ms_client_is_served_every_other_request():
    bucket = Bucket(100, 60_000)
    served(bucket, [i * 500 for i in range(100)])
    start = 100 * 500
    results = served(bucket, [start + i * 500 for i in range(20)])
    assert results.count(True) == 10


def test_two_buckets_short_first():
    throttle = Throttle(1000, 60_000)  # long bucket roomy: the short one (100 per 1 s) refuses first
    assert served(throttle, [0] * 100) == [True] * 100
    refused = throttle.check(0)
    assert refused is throttle.short and refused.message == "Limit reached (100 tokens per 1000 ms)"


def test_compressed_rate_sustains_evenly_spaced_clients():
    lo, window = parse_rate_limit("20/1")
    throttle = Throttle(lo, window)
    assert all(served(throttle, [i * 50 for i in range(400)]))  # 20 req/s for 20 s
    throttle = Throttle(lo, window)
    # A client at 25 req/s drains the 20 starting tokens and is then refused.
    assert not all(served(throttle, [i * 40 for i in range(200)]))


def test_live_429_body_and_headers():
    with run_emulator("--rate-limit", "3/60") as emu:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        with requests.Session() as s:
            codes = [s.get(emu.url + "/rest/people", headers=headers, timeout=5) for _ in range(4)]
            assert [r.status_code for r in codes] == [200, 200, 200, 429]
            assert codes[3].json() == {
                "statusCode": 429,
                "error": "HttpException",
                "messages": ["Limit reached (3 tokens per 60000 ms)"],
            }
            assert "Retry-After" not in codes[3].headers
            # Metadata and health are not throttled (metadata goes through the GraphQL metadata API upstream).
            assert s.get(emu.url + "/rest/metadata/objects", headers=headers, timeout=5).status_code == 200
            assert s.get(emu.url + "/healthz", timeout=5).status_code == 200
    with run_emulator("--rate-limit", "1/60", "--retry-after") as emu:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        requests.get(emu.url + "/rest/people", headers=headers, timeout=5)
        refused = requests.get(emu.url + "/rest/people", headers=headers, timeout=5)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["X-RateLimit-Limit"] == "1" and refused.headers["X-RateLimit-Remaining"] == "0"


def test_live_evenly_spaced_client_is_served_and_burst_is_not():
    with run_emulator("--rate-limit", "5/0.5") as emu:  # one token per 100 ms
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        with requests.Session() as s:
            codes = []
            for _ in range(12):
                started = time.monotonic()
                codes.append(s.get(emu.url + "/rest/people", headers=headers, timeout=5).status_code)
                time.sleep(max(0.0, 0.13 - (time.monotonic() - started)))
            assert codes == [200] * 12
            burst = [
                s.get(emu.url + "/rest/people", headers=headers, timeout=5).status_code for _ in range(12)
            ]
            assert 429 in burst
