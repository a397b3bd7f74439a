"""Several connections sharing one workspace's bucket (pacer.py, turns.py), on the virtual clock of
bench/shared_bucket.py: each connection is a Pacer with 4 workers whose calls take 80-250 ms, and the server is a
replica of Twenty's buckets (the emulator's throttle.Bucket). Nothing here sleeps; every run is seeded."""

from __future__ import annotations

import random

import pytest

from bench.shared_bucket import Clock, share_one_bucket
from destination_twenty.twenty.pacer import Pacer, RateLimitHint
from destination_twenty.twenty.turns import PROBE, SECOND, TURN, Turns


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_connections_share_the_limit_with_few_429s(seed):
    run = share_one_bucket([334, 334], seed)
    assert run["passed"] == 668  # every call of both went through
    # The model's bound; the target (≤ 2 % of calls) is bench/connections.py's, measured on real processes.
    assert run["refused"] <= 0.025 * (run["passed"] + run["refused"])
    assert run["ratio"] >= 0.9
    assert all(p.turns is not None and p.turns.slots == 2 for p in run["pacers"])
    # (Both may hold the same slot: the free slot's token then carries the second one, at no loss.)


def test_four_connections_share_the_limit():
    # Over ten seeds, 1.4-2.0 % of calls are 429s at a pace of 0.931-0.935 (sixty: at most 2.3 %, 0.926). Before
    # (the first bucket's waves not held, new slots picked at random, a probe doubling the share) one seed in
    # seven went wrong: half a slot unspent for two minutes, the pile let every probe through at once, all four
    # took twice their part, and they met for minutes (10 % refused, a pace of 0.60-0.80).
    runs = [share_one_bucket([334] * 4, seed) for seed in range(1, 11)]
    assert all(run["passed"] == 4 * 334 for run in runs)
    shares = sorted(run["refused"] / (run["passed"] + run["refused"]) for run in runs)
    paces = sorted(run["ratio"] for run in runs)
    assert shares[5] <= 0.02 and shares[-1] <= 0.022
    assert paces[0] >= 0.92
    finished = [max(run["finished"]) - min(run["finished"]) for run in runs]
    durations = [max(run["finished"]) - 1_000 for run in runs]
    # equal parts, mostly: they end together
    assert sorted(f / d for f, d in zip(finished, durations, strict=True))[5] < 0.1


def test_the_same_connections_each_pacing_to_the_full_limit_meet_429s_on_a_fifth_of_their_calls(monkeypatch):
    # What sharing replaces: without turns (the first 429 never read, no listening), both pace at 100/min alone.
    monkeypatch.setattr(Pacer, "_count_connections", lambda self: False)
    monkeypatch.setattr(Pacer, "LISTEN", 10**9)
    run = share_one_bucket([334, 334], 1)
    assert run["refused"] > 0.15 * (run["passed"] + run["refused"])


def test_one_connection_alone_never_takes_turns():
    run = share_one_bucket([334], 1)
    assert run["refused"] == 0 and run["pacers"][0].turns is None
    # the 2 % margin, the settle after each call sent on credit, and the first bucket's hold (0.6 % in all)
    assert run["ratio"] >= 0.955


def test_a_connection_left_alone_takes_the_freed_slots_back():
    # One connection writes four times as much: once the other is done, its probes find the spare tokens, it
    # takes the slot and paces alone at the full limit again.
    run = share_one_bucket([150, 600], 7)
    assert run["passed"] == 750
    long_one = run["pacers"][1]
    assert long_one.turns is None
    assert long_one.requests_per_minute == pytest.approx(100 / Pacer.MARGIN, rel=0.01)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("apart", [1.0, 2.0])
def test_two_connections_started_seconds_apart_share_the_limit(seed, apart):
    # The second one gets a small part of the first bucket: its count is rough, the turns mend it.
    run = share_one_bucket([334, 334], seed, starts=[0.0, apart])
    assert run["passed"] == 668
    # The model's bound, as above: the 4 calls each has in flight when the bucket runs dry are most of the 429s.
    assert run["refused"] <= 0.025 * (run["passed"] + run["refused"])
    assert run["ratio"] >= 0.9


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_connection_started_a_minute_after_another_is_heard_and_they_share(seed):
    # The newcomer's first call meets an empty bucket: it takes turns at once (two slots). The first one, pacing
    # alone at full speed, hears of it in a listening gap, the newcomer's turn having taken a token there.
    # Before: the newcomer was refused on most of its calls until the first was done (14 % of all calls).
    run = share_one_bucket([334, 334], seed, starts=[0.0, 60.0])
    assert run["passed"] == 668
    assert run["refused"] <= 0.025 * (run["passed"] + run["refused"])  # the model's bound (2.1-2.2 % here)
    assert run["ratio"] >= 0.9
    first, _ = run["finished"]
    assert first - 1_000 > 1.3 * 144  # the first one gave the newcomer its part (alone it ends after 144 s)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "starts", [[0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 4.0, 6.0], [0.0, 0.2, 0.4, 60.0], [0.0, 0.0, 0.0, 2.0]]
)
def test_four_connections_started_apart_are_refused_far_less_than_before(seed, starts):
    # Not yet the targets (README, "Several connections, one workspace"): over ten seeds a median of 5-9 % of
    # calls are 429s at a pace of 0.78-0.86 (the worst: 13 %, 0.59). One that starts late counts eight or
    # sixteen connections from its part of the first bucket, one that starts early two: the grids differ for good.
    # Before the listening gaps and nested grids: 15-45 % refused.
    run = share_one_bucket([334] * 4, seed, starts=starts)
    assert run["passed"] == 4 * 334
    assert run["refused"] <= 0.12 * (run["passed"] + run["refused"])
    assert run["ratio"] >= 0.55


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_four_connections_answered_in_milliseconds_share_the_limit(seed):
    # The emulator answers 60 people in 5-20 ms: a wave of calls on credit must still end a few holds after its
    # earned call (chaining on, one connection spent the whole first bucket in a second, and the counts of the
    # others, read from their parts of it, went wrong: 5 % refused, a pace of 0.81 at worst).
    run = share_one_bucket([334] * 4, seed, answers=(0.005, 0.02))
    assert run["passed"] == 4 * 334
    assert run["refused"] <= 0.025 * (run["passed"] + run["refused"])
    assert run["ratio"] >= 0.92


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_four_connections_started_within_two_seconds_share_the_limit(seed):
    # Processes or pods launched together start a little apart: spread evenly over up to 2 s, their counts still
    # agree (forty seeds: a median of 1.9 % refused, at most 2.3 %, at a pace of at least 0.918).
    run = share_one_bucket([334] * 4, seed, starts=[0.0, 0.67, 1.33, 2.0])
    assert run["passed"] == 4 * 334
    assert run["refused"] <= 0.025 * (run["passed"] + run["refused"])
    assert run["ratio"] >= 0.91


def test_four_connections_started_seconds_apart_at_a_fifth_of_the_limit_each_seldom_meet():
    # The README's way round the limit above: a requests_per_minute of about 80 % of each one's part.
    run = share_one_bucket([334] * 4, 1, starts=[0.0, 1.0, 2.0, 3.0], per_minute=20)
    assert run["passed"] == 4 * 334
    assert run["refused"] <= 0.02 * (run["passed"] + run["refused"])


def test_a_sync_started_on_a_bucket_another_sync_left_part_full_is_alone_again_within_seconds():
    # Its first 429 comes after 20 calls, as if 4 connections shared the bucket: the early probe finds the
    # spare tokens, and the slots come back one a cycle.
    run = share_one_bucket([334], 1, bucket_left=20)
    assert run["pacers"][0].turns is None
    assert run["shared_until"] is not None and run["shared_until"] < 30
    assert run["ratio"] >= 0.93


def test_the_first_429_after_a_third_of_the_bucket_makes_four_slots_a_power_of_two():
    clock = Clock()
    pacer = Pacer(100, clock=lambda: clock.now, sleep=clock_sleep(clock), wall=lambda: clock.now)
    for _ in range(33):
        pacer.succeeded(pacer.wait())
    pacer.rate_limited(pacer.wait(), RateLimitHint())
    assert pacer.turns is not None and pacer.turns.slots == 4


def test_the_first_429_after_a_quarter_of_the_bucket_makes_four_slots():
    clock = Clock()
    pacer = Pacer(100, clock=lambda: clock.now, sleep=clock_sleep(clock), wall=lambda: clock.now)
    for _ in range(25):
        pacer.succeeded(pacer.wait())
    pacer.rate_limited(pacer.wait(), RateLimitHint())
    assert pacer.turns is not None and pacer.turns.slots == 4
    assert pacer.requests_per_minute == pytest.approx(100 / 4 / Pacer.MARGIN / Pacer.SLOT)


def test_a_429_once_the_bucket_is_spent_is_not_read_as_sharing():
    # The single connection's ceiling run: an odd 429 long after its own 100 calls changes nothing but the pace.
    clock = Clock()
    pacer = Pacer(100, clock=lambda: clock.now, sleep=clock_sleep(clock), wall=lambda: clock.now)
    for _ in range(150):
        pacer.succeeded(pacer.wait())
    ticket = pacer.wait()
    while ticket == pacer._gap_generation:  # (a call after a listening gap: see the next test)
        pacer.succeeded(ticket)
        ticket = pacer.wait()
    pacer.rate_limited(ticket, RateLimitHint())
    assert pacer.turns is None


def test_a_429_on_a_call_after_a_listening_gap_is_read_as_sharing():
    # Alone on a spent bucket, every LISTEN calls one waits two tokens' time: a 429 then means another connection
    # took a token in the gap, however many calls we had through before.
    clock = Clock()
    pacer = Pacer(100, clock=lambda: clock.now, sleep=clock_sleep(clock), wall=lambda: clock.now)
    for _ in range(150):
        pacer.succeeded(pacer.wait())
    ticket, waited = next_after_a_gap(pacer, clock)
    assert waited == pytest.approx(2 * pacer.base, abs=1e-6)  # the gap: two tokens' time
    pacer.rate_limited(ticket, RateLimitHint())
    assert pacer.turns is not None and pacer.turns.slots == 2


def test_a_listening_gap_loses_no_token_a_second_call_goes_on_its_credit():
    clock = Clock()
    pacer = Pacer(100, clock=lambda: clock.now, sleep=clock_sleep(clock), wall=lambda: clock.now)
    for _ in range(150):
        pacer.succeeded(pacer.wait())
    ticket, _ = next_after_a_gap(pacer, clock)
    at = clock.now
    assert pacer.wait() == ticket and clock.now == at  # ready together with it: the spare token pays, at once


def next_after_a_gap(pacer: Pacer, clock: Clock) -> tuple[int, float]:
    """Calls through until one goes after a listening gap: its generation, and how long it waited."""
    for _ in range(100):
        before = clock.now
        ticket = pacer.wait()
        if ticket == pacer._gap_generation and clock.now - before > 1.5 * pacer.base:
            return ticket, clock.now - before
        pacer.succeeded(ticket)
    raise AssertionError("no listening gap in 100 calls")


def clock_sleep(clock):
    def sleep(seconds: float) -> bool:
        clock.now += seconds
        return False

    return sleep


def test_turns_are_at_the_start_of_our_slots_of_the_wall_clock():
    turns = Turns(4, 0.5, 0.02, random.Random(0))
    (index,) = turns.held
    at, number, kind = turns.next(100.0, 100.0)
    assert kind == TURN and number % 4 == index and at == pytest.approx(number * 0.5) and at >= 100.0
    turns.sent(number, kind)
    later, following, _ = turns.next(at, at)
    assert following == number + 4 and later == pytest.approx(at + 2.0)


def test_a_call_woken_too_late_in_its_slot_waits_for_the_next_turn():
    turns = Turns(2, 0.5, 0.02, random.Random(0))
    (index,) = turns.held
    start = (200 + index) * 0.5
    _, number, _ = turns.next(start + 0.01, start + 0.01)
    assert number == 200 + index  # 10 ms late: still this slot
    _, number, _ = turns.next(start + 0.05, start + 0.05)
    assert number == 202 + index  # 50 ms late would crowd the next slot's holder


def test_a_newcomer_gives_a_slot_up_at_once_and_a_settled_holder_after_a_few_429s():
    newcomer = Turns(4, 0.5, 0.02, random.Random(1))
    (slot,) = newcomer.held
    newcomer.refused(slot, TURN)
    assert slot not in newcomer.held and len(newcomer.held) == 1
    holder = Turns(4, 0.5, 0.02, random.Random(1))
    (slot,) = holder.held
    for _ in range(Turns.SETTLED):
        holder.through(slot, TURN)
    for _ in range(Turns.PATIENCE - 1):
        holder.refused(slot, TURN)
        assert slot in holder.held
    holder.refused(slot, TURN)
    assert slot not in holder.held


def test_a_slot_becomes_ours_only_when_a_probe_and_its_second_call_both_pass():
    turns = Turns(2, 0.5, 0.02, random.Random(0))
    (mine,) = turns.held
    for _ in range(Turns.FIRST_PROBE - 1):
        turns.through(mine, TURN)
    assert turns.next(10.0, 10.0)[2] == TURN
    turns.through(mine, TURN)
    at, number, kind = turns.next(10.0, 10.0)
    assert kind == PROBE and number % 2 != mine
    assert at == pytest.approx(number * 0.5 + 0.01)  # late in the slot: its holder, if any, went first
    index, kind = turns.sent(number, kind)
    turns.through(index, kind)
    assert turns.held == {mine: Turns.FIRST_PROBE}  # one call through proves nothing
    _, _, kind = turns.next(at + 0.1, at + 0.1)
    assert kind == SECOND
    turns.through(*turns.sent(number, kind))
    assert turns.alone


def test_a_second_probe_call_refused_leaves_the_slot_and_makes_probes_rarer():
    turns = Turns(2, 0.5, 0.02, random.Random(0))
    (mine,) = turns.held
    for _ in range(Turns.PROBE_AFTER):
        turns.through(mine, TURN)
    at, number, kind = turns.next(10.0, 10.0)
    turns.through(*turns.sent(number, kind))
    _, _, kind = turns.next(at, at)
    turns.refused(*turns.sent(number, kind))
    assert not turns.alone
    for _ in range(Turns.PROBE_AFTER - 1):
        turns.through(mine, TURN)
    assert turns.next(20.0, 20.0)[2] == TURN  # after a miss the next probe waits PROBE_AFTER successes
    turns.through(mine, TURN)
    assert turns.next(20.0, 20.0)[2] == PROBE


def test_at_a_pace_far_above_100_a_minute_turns_still_leave_room_for_a_late_wake_up():
    # 60,000 a minute (the tests' pace): a token is 1 ms, too short for a thread to hit; each slot keeps
    # MIN_ROOM of room, so a caller woken a few ms late still finds its turn instead of skipping it for ever.
    clock = Clock()

    def late_sleep(seconds: float) -> bool:
        clock.now += seconds + 0.004  # every wake-up 4 ms late
        return False

    pacer = Pacer(60_000, clock=lambda: clock.now, sleep=late_sleep, wall=lambda: clock.now)
    for _ in range(25):
        pacer.succeeded(pacer.wait())
    pacer.rate_limited(pacer.wait(), RateLimitHint())
    assert pacer.turns is not None
    started = clock.now
    for _ in range(20):
        ticket = pacer.wait()
        assert ticket is not None
        pacer.succeeded(ticket)
    assert clock.now - started < 5.0


def test_the_429_that_starts_the_turns_still_holds_every_call_for_its_retry_after():
    clock = Clock()
    pacer = Pacer(100, clock=lambda: clock.now, sleep=clock_sleep(clock), wall=lambda: clock.now)
    for _ in range(25):
        pacer.succeeded(pacer.wait())
    pacer.rate_limited(pacer.wait(), RateLimitHint(retry_after=5))
    assert pacer.turns is not None
    refused_at = clock.now
    pacer.wait()
    assert clock.now >= refused_at + 5


def test_giving_up_slot_after_slot_makes_the_grid_twice_as_fine_keeping_a_half_of_each_slot():
    turns = Turns(2, 0.5, 0.02, random.Random(3))
    for _ in range(Turns.CROWDED - 1):
        (slot,) = turns.held
        turns.refused(slot, TURN)  # a newcomer each time: gives the slot up, takes the other
        assert turns.slots == 2
    (slot,) = turns.held
    turns.refused(slot, TURN)
    assert turns.slots == 4 and len(turns.held) == 1
    (fine,) = turns.held
    assert fine % 2 != slot  # not a half of the slot just given up


def test_a_holder_of_several_slots_gives_up_the_one_where_it_meets_another_at_once():
    turns = Turns(4, 0.5, 0.02, random.Random(0))
    (mine,) = turns.held
    turns.held[(mine + 1) % 4] = 0
    for _ in range(Turns.SETTLED):
        turns.through(mine, TURN)
    turns.refused(mine, TURN)
    assert mine not in turns.held and len(turns.held) == 1


def probes_until_alone(turns: Turns) -> tuple[int, int]:
    """Every probe finds spare tokens (the others are done): how many probes, and calls, until every slot is ours."""
    probes = calls = 0
    now = 10.0
    for _ in range(200):
        if turns.alone:
            break
        at, number, kind = turns.next(now, now)
        turns.through(*turns.sent(number, kind))
        now, calls, probes = at + 0.1, calls + 1, probes + (kind == SECOND)
    assert turns.alone
    return probes, calls


def test_a_probe_finding_spare_tokens_takes_the_slot_it_tested_and_the_next_probe_follows_at_once():
    # One slot of 8 once the others are done: the seven others come back one a probe, with a call of ours
    # between probes (NEXT_PROBE). Doubling the share on each probe instead let four connections whose probes
    # came due together on a pile of spare tokens all take twice their part (the model's bad runs).
    turns = Turns(8, 0.5, 0.02, random.Random(0))
    probes, calls = probes_until_alone(turns)
    assert probes == 7 and calls <= 7 * (2 + Turns.NEXT_PROBE) + Turns.FIRST_PROBE


def test_a_share_under_a_quarter_grows_by_halves():
    turns = Turns(16, 0.5, 0.02, random.Random(0))
    probes, _ = probes_until_alone(turns)
    assert probes == 4


def test_leaving_the_turns_waits_until_every_slot_has_been_ours_for_a_while():
    # Slots taken on a pile of spare tokens may still be another's, which its 429s show only once the pile is
    # spent: all of them ours is not yet the others done.
    turns = Turns(2, 0.5, 0.02, random.Random(0))
    probes_until_alone(turns)
    assert turns.alone and not turns.done
    for _ in range(Turns.DONE_AFTER):
        for index in list(turns.held):
            turns.through(index, TURN)
    assert turns.done


def test_a_newcomer_moving_on_picks_a_slot_where_it_has_not_met_anyone():
    turns = Turns(8, 0.5, 0.02, random.Random(2))
    met = set()
    for _ in range(Turns.CROWDED - 1):
        (slot,) = turns.held
        met.add(slot)
        turns.refused(slot, TURN)
        assert turns.slots == 8 and not set(turns.held) & met
