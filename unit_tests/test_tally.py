"""The tally: per-stream totals for the summary, and counts since each stream's last STATE."""

from destination_twenty.write.tally import Counts, Tally


def counts(**per_kind):
    c = Counts()
    for kind, by_stream in per_kind.items():
        getattr(c, kind).update(by_stream)
    return c


def test_state_stats_cover_only_their_streams_since_their_last_state():
    tally = Tally()
    tally.add(counts(created={"a": 2, "b": 1}, updated={"a": 1}))
    tally.reject("b")
    assert tally.take_since_state(["a"]) == (3, 0)
    assert tally.take_since_state(["a"]) == (0, 0)
    tally.add(counts(unchanged={"a": 4}))
    assert tally.take_since_state(None) == (5, 1)  # a global state covers every stream
    assert tally.written == 8 and tally.rejected_total == 1


def test_summary_names_every_stream_and_already_stored_only_when_there_are_some():
    tally = Tally()
    tally.saw("quiet")
    tally.add(counts(created={"a": 1}, unchanged={"a": 2}))
    text = tally.summary(1.0, 7)
    assert "stream 'a': created 1, updated 0, already stored 2, rejected 0" in text
    assert "stream 'quiet': created 0, updated 0, rejected 0" in text
    assert "7 API calls" in text
