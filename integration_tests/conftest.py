"""Drive the real console script as a subprocess against the emulator, and read back what it stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from twenty_emulator.testing import run_emulator

API_KEY = "itest-key-5b0d1e77c3a94f0e"  # recognisable, so a leak in any output is caught
CONNECTOR = Path(sys.executable).with_name("destination-twenty")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    @property
    def logs(self) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG")]

    @property
    def status(self) -> dict[str, Any]:
        (status,) = [m["connectionStatus"] for m in self.of_type("CONNECTION_STATUS")]
        return status


def run_connector(
    args: list[str],
    tmp_path: Path,
    config: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    messages: list[dict[str, Any]] | None = None,
    timeout: float = 180,
) -> Run:
    argv = [str(CONNECTOR), *args]
    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config))
        argv += ["--config", str(tmp_path / "config.json")]
    if catalog is not None:
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        argv += ["--catalog", str(tmp_path / "catalog.json")]
    stdin = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages or [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRBYTE")}
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=env)
    parsed = []
    for line in proc.stdout.splitlines():
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append({"type": "NOT_JSON", "line": line})
    run = Run(proc.returncode, proc.stdout, proc.stderr, parsed)
    assert API_KEY not in proc.stdout and API_KEY not in proc.stderr, "the API key leaked into the output"
    assert "Traceback (most recent call last)" not in proc.stdout, "a Python traceback reached stdout"
    return run


def config_for(emulator, mode: str = "people", **extra: Any) -> dict[str, Any]:
    config = {
        "api_key": emulator.api_key,
        "api_url": emulator.url,
        "mode": mode,
        "requests_per_minute": 60000,
    }
    config.update(extra)
    return config


def catalog_for(
    *streams: str, mode: str = "append_dedup", primary_key: list[list[str]] | None = None
) -> dict:
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh"],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": mode,
                **({"primary_key": primary_key} if primary_key else {}),
            }
            for name in streams
        ]
    }


def record(stream: str, data: Any) -> dict[str, Any]:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1700000000000}}


def state(stream: str, cursor: Any, state_id: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"cursor": cursor}},
    }
    if state_id is not None:
        body["id"] = state_id
    return {"type": "STATE", "state": body}


@pytest.fixture(scope="session")
def emulator_server():
    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_server):
    """A fresh workspace for each test, on one shared server (starting one per test would be slow)."""
    emulator_server.reset()
    yield emulator_server
    emulator_server.check_no_internal_errors()  # a crash answered 500 and retried must not pass unseen


def live(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if not r.get("deletedAt")]
