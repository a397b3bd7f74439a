"""Issue 19, item 10: identical rows are counted in bounded-per-row memory, with the same counts as before."""

import tracemalloc
import uuid
from collections import Counter

from destination_twenty.write.occurrences import Occurrences


def ids(n):
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))) for i in range(n)]


def test_counts_match_a_counter_of_every_row():
    rows = ids(50) * 3 + ids(10)
    occurrences, counter = Occurrences(), Counter()
    for first in rows:
        expected = counter[first]
        counter[first] += 1
        assert occurrences.count(first) == expected
    occurrences.clear()
    assert len(occurrences) == 0 and occurrences.count(rows[0]) == 0


def test_a_distinct_row_costs_far_less_than_a_counter_entry():
    rows = ids(20_000)
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    occurrences = Occurrences()
    for first in rows:
        occurrences.count(first)
    compact = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    assert compact / len(rows) < 40  # bytes per distinct row; a Counter of the ids takes about 150
