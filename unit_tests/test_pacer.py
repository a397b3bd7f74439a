"""The pacer's arithmetic on a fake clock: nothing here sleeps."""

from __future__ import annotations

import pytest

from destination_twenty.twenty.pacer import Pacer, RateLimitHint


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        self.now += seconds
        return False


def make(per_minute: float = 100) -> tuple[Pacer, FakeClock]:
    clock = FakeClock()
    return Pacer(per_minute, clock=clock, sleep=clock.sleep), clock


def spend_the_burst(pacer):
    for _ in range(Pacer.BURST):
        pacer.wait()


def test_the_first_bucket_goes_in_waves_then_calls_are_spaced_evenly_with_a_margin():
    # Twenty's bucket starts full: its 100 calls need no token earned. They go in waves: a call that earns a token,
    # then calls on the bucket's credit one by one, each HOLD after the last (by then a 429 is back if other
    # connections emptied the bucket), for at most a few holds: calls answered in milliseconds do not chain on.
    pacer, clock = make(100)
    sent = []
    for _ in range(140):
        pacer.wait()
        sent.append(clock.now)
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    waves, size = [], 1
    for gap in gaps[:123]:
        if gap < 0.1:
            assert gap == pytest.approx(Pacer.HOLD)
            size += 1
        else:  # the next wave's call earns its token a whole interval (and the settle) after the last call
            assert gap == pytest.approx(0.612 + Pacer.SETTLE)
            waves.append(size)
            size = 1
    assert waves == [5] * 24  # 100 on credit and one earned a wave: 24 waves of 5, then 4
    # then, the bucket spent, one call per 0.6 s × 1.02, as the lossy refill earns them
    assert gaps[125:] == pytest.approx([0.612] * len(gaps[125:]))


def test_a_call_ready_between_two_earned_tokens_waits_for_the_next_one():
    # Twenty's refill is lossy: a call 0.3 s after the last one would throw away the 0.3 s already accrued.
    pacer, clock = make(100)
    pacer.wait()
    clock.now += 0.3
    pacer.wait()
    assert clock.now - 1000.0 == pytest.approx(0.612)


def test_calls_ready_with_an_earned_one_join_it_on_the_buckets_credit():
    pacer, clock = make(100)
    pacer.wait()
    clock.now += 0.7  # a whole interval later: this call earns a token ...
    pacer.wait()
    sent = clock.now
    for _ in range(3):  # ... and three more in flight go with it, each HOLD after the one before
        pacer.wait()
    assert clock.now == pytest.approx(sent + 3 * Pacer.HOLD)


def test_the_calls_on_credit_stay_back_when_the_call_that_went_before_them_is_refused():
    # Other connections spent the bucket: the call that earned its token is refused in milliseconds, before the
    # three ready with it go, and they wait for the pause instead of meeting the empty bucket too.
    pacer, clock = make(100)
    first = pacer.wait()
    go, wait = pacer.turn()
    assert not go and wait == pytest.approx(Pacer.HOLD)
    clock.now += 0.005
    pacer.rate_limited(first, RateLimitHint())
    go, wait = pacer.turn()
    assert not go and wait >= Pacer.MIN_PAUSE - 0.005


def test_a_429_in_the_middle_of_a_wave_keeps_the_rest_of_it_back():
    # The bucket ran dry in the middle of a wave (the others spent it): the call on credit that met it is refused
    # before the next one goes, so a wave loses one call to the empty bucket, not three.
    pacer, clock = make(100)
    pacer.wait()
    second = pacer.wait()
    assert clock.now == pytest.approx(1000.0 + Pacer.HOLD)
    go, wait = pacer.turn()
    assert not go and wait == pytest.approx(Pacer.HOLD)
    clock.now += 0.003
    pacer.rate_limited(second, RateLimitHint())
    go, _ = pacer.turn()
    assert not go


def test_waves_keep_the_sync_at_the_limiters_ideal_whatever_the_servers_answer_time():
    """300 calls from 4 workers against a server that takes 0.25 s a call: every call passes a replica of
    Twenty's buckets (the emulator's), and the sync takes the ideal (calls beyond the bucket × 0.6 s) plus the
    margin and the settle after each wave. Spending the bucket at once would add the 100 calls' answer time
    (100 × 0.25 / 4 s), earning nothing. Calls sent together reach the throttler up to 35 ms apart, in any order
    (as the emulator's log of the ceiling run shows): the settle keeps every wave's token."""
    import heapq
    import random

    from twenty_emulator.throttle import Bucket

    pacer, clock = make(100)
    rnd = random.Random(5)
    long, short = Bucket(100, 60_000), Bucket(100, 1_000)
    workers = [(clock.now, n) for n in range(4)]
    arrivals: list[float] = []
    sent, refused, waves = [], 0, 0  # waves: calls that waited after two calls sent together

    def arrive(until: float) -> int:
        misses = 0
        while arrivals and arrivals[0] <= until:
            at = heapq.heappop(arrivals)
            misses += not (short.take(at * 1000) and long.take(at * 1000))
        return misses

    for _ in range(300):
        ready, n = heapq.heappop(workers)
        clock.now = max(clock.now, ready)
        before = clock.now
        pacer.wait()
        waves += clock.now > before and len(sent) > 1 and sent[-1] - sent[-2] < 0.025
        refused += arrive(clock.now)
        crowded = bool(sent) and clock.now - sent[-1] < 0.025
        heapq.heappush(arrivals, clock.now + rnd.uniform(0, 0.035 if crowded else 0.004))
        sent.append(clock.now)
        heapq.heappush(workers, (clock.now + 0.25, n))
    refused += arrive(float("inf"))
    assert refused == 0
    ideal = (300 - 100) * 0.6
    assert waves > 20  # the first bucket went in waves, each of them settled
    assert (
        ideal < sent[-1] - sent[0] <= ideal * (Pacer.MARGIN + 0.005) + waves * (Pacer.SETTLE + 3 * Pacer.HOLD)
    )


def test_an_idle_gap_earns_the_tokens_the_server_gives_for_it():
    pacer, clock = make(100)
    for _ in range(140):  # the first bucket spent (no hold after it)
        pacer.wait()
    clock.now += 10 * 0.612  # ten whole intervals with nothing to send
    started = clock.now
    for _ in range(10):
        pacer.wait()
    assert clock.now == started


def test_a_429_empties_the_bucket():
    pacer, clock = make(100)
    pacer.rate_limited(pacer.wait(), RateLimitHint(retry_after=0))
    before = clock.now
    pacer.wait()
    pacer.wait()
    assert clock.now - before == pytest.approx(pacer.interval, rel=0.3)


def test_one_burst_of_concurrent_429s_slows_the_pace_once():
    pacer, _ = make(100)
    generations = [pacer.wait() for _ in range(4)]  # four calls in flight, all sent at the same pace
    for generation in generations:
        pacer.rate_limited(generation, RateLimitHint())
    assert pacer.interval == pytest.approx(pacer.base * Pacer.WIDEN)


def test_pacing_returns_to_the_configured_rate_after_a_burst_of_eight_429s():
    # The reported case: 8 429s in a row, then every call succeeds. The old arithmetic (× 0.995 per success)
    # needed some 350 successes to undo them, far more than the 20 calls of 1,200 records.
    pacer, _ = make(100)
    for _ in range(8):
        pacer.rate_limited(pacer.wait(), RateLimitHint())
    assert pacer.interval == pytest.approx(pacer.base * 1.25**8)
    intervals = []
    while pacer.interval > pacer.base and len(intervals) < 100:
        pacer.succeeded(pacer.wait())
        intervals.append(pacer.interval)
    assert pacer.interval == pacer.base
    assert len(intervals) <= 10
    assert intervals[3] < 1.5 * pacer.base  # within four calls, nearly the configured pace again


def test_successes_never_make_the_pace_faster_than_configured():
    pacer, _ = make(100)
    for _ in range(50):
        pacer.succeeded(pacer.wait())
    assert pacer.interval == pacer.base


def test_a_success_sent_before_a_slow_down_does_not_undo_it():
    pacer, _ = make(100)
    early = pacer.wait()
    pacer.rate_limited(pacer.wait(), RateLimitHint())
    widened = pacer.interval
    pacer.succeeded(early)
    assert pacer.interval == widened


def test_repeated_429s_widen_the_spacing_only_up_to_a_bound():
    pacer, _ = make(100)
    for _ in range(100):
        pacer.rate_limited(pacer.wait(), RateLimitHint(retry_after=0))
    assert pacer.interval == pytest.approx(pacer.base * Pacer.MAX_WIDENING)


def test_the_bound_is_one_call_a_minute_for_a_slow_configured_pace():
    pacer, _ = make(2)
    for _ in range(20):
        pacer.rate_limited(pacer.wait(), RateLimitHint(retry_after=0))
    assert pacer.interval == pytest.approx(60.0)


def test_retry_after_holds_every_caller_until_it_passes():
    pacer, clock = make(6000)  # 10 ms spacing: the pause dominates
    pacer.rate_limited(pacer.wait(), RateLimitHint(retry_after=12))
    paused_at = clock.now
    pacer.wait()
    assert clock.now >= paused_at + 12


def test_without_retry_after_the_pause_is_one_token_and_the_next_call_follows_at_the_widened_spacing():
    pacer, clock = make(100)
    pacer.rate_limited(pacer.wait(), RateLimitHint())
    paused_at = clock.now
    pacer.wait()
    assert clock.now == pytest.approx(paused_at + pacer.base)
    pacer.wait()
    assert clock.now == pytest.approx(paused_at + pacer.base + pacer.base * Pacer.WIDEN)


def test_a_pause_that_starts_while_a_caller_sleeps_moves_its_turn():
    # A caller who reserved a turn 0.6 s ahead, then (while it sleeps) another call meets a 429 saying 5 s.
    pacer, clock = make(100)
    spend_the_burst(pacer)
    paused: list[float] = []

    def sleep_and_get_limited(seconds: float) -> bool:
        clock.sleep(seconds)
        if not paused:
            paused.append(clock.now)
            pacer.rate_limited(None, RateLimitHint(retry_after=5))
        return False

    pacer._sleep = sleep_and_get_limited
    pacer.wait()
    assert clock.now >= paused[0] + 5


def test_a_wait_past_the_deadline_reserves_nothing_and_says_so():
    pacer, clock = make(100)
    pacer.rate_limited(pacer.wait(), RateLimitHint(retry_after=30))
    assert pacer.wait(deadline=clock.now + 10) is None
    assert clock.slept == []
    assert pacer.wait(deadline=clock.now + 60) is not None


def test_a_wait_cut_short_by_stopping_returns_none():
    clock = FakeClock()
    pacer = Pacer(1, clock=clock, sleep=lambda seconds: True)  # a stop event that is already set
    pacer.wait()
    assert pacer.wait() is None


def test_a_limit_named_by_the_server_lowers_the_base_pace():
    pacer, _ = make(1000)
    pacer.rate_limited(pacer.wait(), RateLimitHint(per_minute=100))
    assert pacer.base == pytest.approx(0.612)
    for _ in range(50):
        pacer.succeeded(pacer.wait())
    assert pacer.requests_per_minute == pytest.approx(100 / Pacer.MARGIN)


def test_a_pace_far_above_the_servers_still_pauses_half_a_second_after_a_429():
    pacer, clock = make(600_000)
    pacer.rate_limited(pacer.wait(), RateLimitHint())
    paused_at = clock.now
    pacer.wait()
    assert clock.now == pytest.approx(paused_at + Pacer.MIN_PAUSE)


def test_a_limit_above_the_configured_pace_changes_nothing():
    pacer, _ = make(100)
    pacer.rate_limited(pacer.wait(), RateLimitHint(per_minute=10_000))
    assert pacer.base == pytest.approx(0.612)
