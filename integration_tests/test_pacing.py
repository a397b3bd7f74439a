"""Pacing after 429s: it recovers, it honours the server's hints, and a storm ends within the retry budget
(issue 8, item 8). The emulator plays the storms with its fault injection (429s from "a proxy in front", so
the rate limiter itself stays off and only the injected 429s slow anything down)."""

from __future__ import annotations

import time
from datetime import datetime

from integration_tests.conftest import API_KEY, catalog_for, config_for, live, record, run_connector, state
from twenty_emulator.testing import run_emulator

PEOPLE = [{"emails.primaryEmail": f"pace{i}@example.com", "jobTitle": f"T{i}"} for i in range(120)]


def _messages(people=PEOPLE):
    return [*(record("people", p) for p in people), state("people", len(people))]


def test_a_429_storm_that_outlasts_the_budget_ends_as_transient_within_it(tmp_path):
    # Every /rest/ call is refused with Retry-After: 1. The budget (6 s) is a deadline, not a number of tries.
    with run_emulator("--rate-limit", "off", "--faults", "429:1.0", "--retry-after", api_key=API_KEY) as emu:
        config = config_for(emu, "people", max_retry_seconds=6)
        started = time.monotonic()
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), _messages(), timeout=120)
        elapsed = time.monotonic() - started
        calls = emu.requests()
        stored = emu.records("people")
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "transient_error"
    assert "429" in error["message"] and "retry budget" in error["message"]
    assert stored == [] and run.states == []
    # Retry-After was honoured: about one call a second, not a hammering (and not a single try either).
    assert 2 <= len(calls) <= 12
    assert elapsed < 6 + 30  # the budget, plus a generous allowance for start-up on a busy machine


def test_a_70_percent_429_storm_with_retry_after_still_writes_every_record(tmp_path):
    with run_emulator(
        "--rate-limit", "off", "--faults", "429:0.7", "--fault-seed", "14", "--retry-after", api_key=API_KEY
    ) as emu:
        config = config_for(emu, "people", batch_size=60)
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), _messages(), timeout=300)
        calls = emu.requests()
        stored = live(emu.records("people"))
    assert run.returncode == 0, run.errors
    assert sorted(p["emails"]["primaryEmail"] for p in stored) == sorted(
        p["emails.primaryEmail"] for p in PEOPLE
    )
    assert any(c["status"] == 429 for c in calls)  # the storm really happened
    assert [s["stream"]["stream_state"] for s in run.states] == [{"cursor": 120}]


def test_pacing_returns_to_the_configured_rate_after_a_burst_of_429s(tmp_path):
    # 429s on the first 8 calls, then none: the last batch calls go out at the configured pace again
    # (1 call per 0.25 s). The old pacing, 1.25× slower per 429 and 0.5 % faster per success, still spaced
    # them about 1.4 s apart. The bound is loose (three times the pace): the feature is that pacing comes back.
    faults = "429@" + ";".join(str(n) for n in range(1, 9))
    with run_emulator("--rate-limit", "off", "--faults", faults, api_key=API_KEY) as emu:
        people = [{"emails.primaryEmail": f"burst{i}@example.com"} for i in range(400)]
        config = config_for(emu, "people", requests_per_minute=240, batch_size=20, max_concurrent_requests=1)
        run = run_connector(
            ["write"], tmp_path, config, catalog_for("people"), _messages(people), timeout=300
        )
        calls = [c for c in emu.requests() if c["path"].startswith("/rest/batch/")]
        stored = live(emu.records("people"))
    assert run.returncode == 0, run.errors
    assert len(stored) == 400
    stamps = [datetime.fromisoformat(c["time"].replace("Z", "+00:00")).timestamp() for c in calls[-10:]]
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    assert gaps[len(gaps) // 2] < 3 * 60 / 240


def test_a_stopping_sync_does_not_retry_a_throttled_call_and_counts_nothing_for_it():
    """Issue 9's fail fast, for retries in progress: once the sync is stopping, a call Twenty answered with 429
    (which stored nothing) ends at once instead of waiting out its retries; without the stop it is retried."""
    import threading

    import pytest

    from destination_twenty.config import TwentyConfig
    from destination_twenty.errors import RequestCancelled
    from destination_twenty.twenty.client import TwentyClient

    people = [{"emails": {"primaryEmail": f"w{n}@wind.example"}} for n in range(3)]
    with run_emulator("--rate-limit", "off", "--faults", "429@1;2;3", api_key=API_KEY) as emu:
        config = TwentyConfig.from_mapping({"api_key": API_KEY, "mode": "people", "api_url": emu.url})
        stopping = threading.Event()
        client = TwentyClient(config, retry_seconds=600, per_minute=60000)
        client.stop_retrying_when(stopping)
        stopping.set()
        with pytest.raises(RequestCancelled):
            client.create_many("people", people, upsert=True)
        assert client.stats.calls == 1 and client.stats.retries == 0
        assert emu.records("people") == []
        stopping.clear()  # not stopping: the same throttled call is retried until it lands
        client.create_many("people", people, upsert=True)
        assert client.stats.calls == 4  # the 429s of calls 2 and 3, then the write
        assert len(emu.records("people")) == 3
        client.close()
