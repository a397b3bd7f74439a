"""Replay every case of conformance/cases.jsonl (a real server, January 2026) against the emulator's default mode.

The comparison is emulator_tests/replay.py's (conformance/README.md). Every case passes: the default mode has no
known difference with this recording.
"""

from __future__ import annotations

import pytest
from replay import API_KEY, API_KEY_NAME, Replay

from conformance.recording import CORPUS, read_cases
from twenty_emulator.testing import run_emulator

CASES = read_cases(CORPUS)


@pytest.fixture(scope="module")
def replay():
    with run_emulator("--rate-limit", "off", "--api-key-name", API_KEY_NAME, api_key=API_KEY) as emu:
        r = Replay(emu.url)
        yield r
        r.session.close()


def test_the_corpus_is_complete() -> None:
    assert len(CASES) == 80 and len({c["case"] for c in CASES}) == 80


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_case(replay: Replay, case: dict) -> None:
    replay.setup(case)
    replay.check(case, replay.send(case["request"]))
