"""The ordered pipeline without HTTP: results leave in the order work entered, whatever order it finishes in."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from destination_twenty.write.pipeline import TICK, Pipeline


def drain(values):
    return [v for v in values if v is not TICK]


def test_results_and_marks_leave_in_arrival_order_though_work_finishes_backwards():
    pipeline = Pipeline(limit=3)
    gates = [threading.Event() for _ in range(3)]

    def work(n):
        def run():
            assert gates[n].wait(5)
            return f"batch {n}"

        return run

    out = []
    try:
        for n in range(3):
            out += drain(pipeline.wait_for_slot(frozenset({("id", str(n))})))
            pipeline.start(frozenset({("id", str(n))}), work(n))
            pipeline.put(f"state {n}")
        gates[2].set()
        gates[1].set()
        assert drain(pipeline.ready(block=False)) == []  # the head has not finished: nothing may overtake it
        gates[0].set()
        out += drain(pipeline.ready(block=True))
    finally:
        pipeline.close()
    assert out == ["batch 0", "state 0", "batch 1", "state 1", "batch 2", "state 2"]


def test_a_batch_sharing_a_key_waits_for_the_one_before_it():
    pipeline = Pipeline(limit=4)
    order = []
    gate = threading.Event()

    def first():
        assert gate.wait(5)
        order.append("first")

    try:
        pipeline.start(frozenset({("email", "a@x")}), first)
        waiting = pipeline.wait_for_slot(frozenset({("email", "a@x"), ("email", "b@x")}))
        threading.Timer(0.05, gate.set).start()
        list(waiting)  # returns only once `first` has finished
        order.append("second may start")
    finally:
        pipeline.close()
    assert order == ["first", "second may start"]


def test_at_most_limit_run_at_once():
    """The pipeline's rule, not its pool, holds the third batch back: the pool here has room for eight."""
    pipeline = Pipeline(limit=2)
    pipeline._pool.shutdown()
    pipeline._pool = ThreadPoolExecutor(8)  # a pool that would run everything at once
    running, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def work():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        assert release.wait(5)
        with lock:
            running[0] -= 1

    def feed(first, last, done):
        for n in range(first, last):
            list(pipeline.wait_for_slot(frozenset({("id", str(n))})))
            pipeline.start(frozenset({("id", str(n))}), work)
        done.set()

    try:
        two = threading.Event()
        feed(0, 2, two)
        rest = threading.Event()
        feeder = threading.Thread(target=feed, args=(2, 5, rest), daemon=True)
        feeder.start()
        assert not rest.wait(0.3)  # two are running: the third waits for a slot
        with lock:
            assert running[0] == 2
        release.set()
        assert rest.wait(5)
        feeder.join(5)
        list(pipeline.ready(block=True))
    finally:
        pipeline.close()
    assert peak[0] == 2


def test_work_that_raises_raises_in_order():
    pipeline = Pipeline(limit=2)

    def boom():
        raise RuntimeError("bug")

    try:
        pipeline.put("state before")
        pipeline.start(frozenset({("id", "1")}), boom)
        pipeline.put("state after")
        values = pipeline.ready(block=True)
        assert next(values) == "state before"
        with pytest.raises(RuntimeError):
            drain(values)
    finally:
        pipeline.close()


def test_values_queued_behind_a_slow_head_are_bounded(monkeypatch):
    """Issue 19, item 10: STATEs and rejections put behind a stalled batch make the caller wait for the head."""
    monkeypatch.setattr("destination_twenty.write.pipeline.MAX_QUEUED", 5)
    pipeline = Pipeline(limit=2)
    release = threading.Event()
    try:
        pipeline.start(frozenset({("id", "head")}), lambda: release.wait(5) and "head")
        for n in range(4):
            pipeline.put(n)
        assert drain(pipeline.wait_for_room()) == []  # 5 entries: at the bound, the caller goes on
        pipeline.put(4)
        done = threading.Event()
        out: list = []

        def room():
            out.extend(drain(pipeline.wait_for_room()))
            done.set()

        threading.Thread(target=room, daemon=True).start()
        assert not done.wait(0.3)  # held: the head has not finished
        release.set()
        assert done.wait(5)
        assert out == ["head", 0, 1, 2, 3, 4] and len(pipeline) == 0
    finally:
        pipeline.close()
