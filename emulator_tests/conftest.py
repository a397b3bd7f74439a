"""Fixtures: a running emulator per test module (or per test), and an authenticated session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_client import Client

from twenty_emulator.testing import Emulator, run_emulator

API_KEY = "test-key"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One emulator for the module, rate limit off; tests that need a clean slate call ``emulator.reset()``."""
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    emulator.reset()
    c = Client(emulator)
    yield c
    c.session.close()
    emulator.check_no_internal_errors()
