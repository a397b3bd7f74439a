"""Fixtures: a running emulator per test module (or per test), and an authenticated session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from twenty_emulator.testing import Emulator, run_emulator

API_KEY = "test-key"
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # CI keeps a copy of shared/ beside the clone


class Client:
    """A requests.Session bound to one emulator, with the bearer token set."""

    def __init__(self, emu: Emulator):
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {emu.api_key}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.emu.url + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


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
