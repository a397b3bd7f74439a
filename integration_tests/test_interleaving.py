"""Issue 19, item 12: the accounting scenarios under random 429s and latency with four batches in flight, over a
few seeds (more in `make reliability`, whose figures are in docs/reliability.md): the summary, the states' stats
and what the emulator holds agree on every run."""

import pytest

from reliability import interleaving

SEEDS = (1, 2)
RECORDS = 120


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scenario", interleaving.SCENARIOS)
def test_counts_agree_under_random_429s_and_latency_with_four_in_flight(scenario, seed):
    outcome = interleaving.run(scenario, seed, RECORDS)
    assert outcome.exact, (outcome.problems, outcome)
    assert outcome.bad and outcome.stored
