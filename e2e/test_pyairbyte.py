"""A real PyAirbyte pipeline: airbyte-source-faker -> destination-twenty -> the local Twenty emulator (issue 10).

Three environments, as a user has them: PyAirbyte in .venv-pyairbyte, source-faker in .venv-faker (it needs
airbyte-cdk < 7), the connector in the project's .venv (this one, whose console script PyAirbyte runs as a local
executable). `make pyairbyte-test` creates the first two and runs this file; it is outside the default test
paths because installing PyAirbyte takes minutes.

Two syncs of faker's `users` stream with Append + Deduped on its primary key `id`: the second uses another seed,
so ids 1..N come back with other emails, cities and phones. The people stored must equal the second sync's users
exactly, and each user must still be the Twenty record the first sync created for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from twenty_emulator.testing import run_emulator

ROOT = Path(__file__).resolve().parents[1]
PYAIRBYTE_PYTHON = Path(os.environ.get("PYAIRBYTE_PYTHON", ROOT / ".venv-pyairbyte" / "bin" / "python"))
SOURCE_FAKER = Path(os.environ.get("SOURCE_FAKER", ROOT / ".venv-faker" / "bin" / "source-faker"))
CONNECTOR = Path(sys.executable).with_name("destination-twenty")
SYNC_SCRIPT = Path(__file__).with_name("pyairbyte_sync.py")
API_KEY = "e2e-pyairbyte-key-3f9a61c0d2"  # recognisable, so a leak anywhere in the output is caught
USERS = 300
SYNC_TIMEOUT_S = 900  # one sync starts three Python processes, each importing a CDK; bounded all the same

MAPPING = [
    {"column": "name", "field": "name.firstName"},
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "address.city", "field": "city"},
    {"column": "telephone", "field": "phones.primaryPhoneNumber"},
    {"column": "occupation", "field": "jobTitle"},
]


def faker_config(seed: int) -> dict[str, Any]:
    return {"count": USERS, "seed": seed, "parallelism": 1, "records_per_slice": 100}


def require(path: Path) -> None:
    if not path.exists():
        pytest.fail(
            f"{path} is missing: run `make pyairbyte-test`, which creates the PyAirbyte and faker venvs"
        )


def faker_users(seed: int, tmp_path: Path) -> list[dict[str, Any]]:
    """faker's users for a seed, read straight from its CLI: the truth the stored people are checked against."""
    config = tmp_path / f"faker-{seed}.json"
    config.write_text(json.dumps(faker_config(seed)))
    discovered = subprocess.run(
        [str(SOURCE_FAKER), "discover", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    catalog = next(
        json.loads(line)["catalog"] for line in discovered.stdout.splitlines() if '"CATALOG"' in line
    )
    (users,) = [s for s in catalog["streams"] if s["name"] == "users"]
    configured = tmp_path / "faker-catalog.json"
    configured.write_text(
        json.dumps(
            {
                "streams": [
                    {"stream": users, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
                ]
            }
        )
    )
    read = subprocess.run(
        [str(SOURCE_FAKER), "read", "--config", str(config), "--catalog", str(configured)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = []
    for line in read.stdout.splitlines():
        message = json.loads(line) if line.startswith("{") else {}
        if message.get("type") == "RECORD" and message["record"]["stream"] == "users":
            rows.append(message["record"]["data"])
    return rows


def pyairbyte_sync(emulator, seed: int, tmp_path: Path) -> subprocess.CompletedProcess:
    run_dir = tmp_path / f"sync-{seed}"
    run_dir.mkdir()
    (run_dir / "faker.json").write_text(json.dumps(faker_config(seed)))
    destination_config = {
        "api_key": emulator.api_key,
        "api_url": emulator.url,
        "mode": "people",
        "column_mapping": MAPPING,
        "default_phone_country": "US",
        "requests_per_minute": 60000,
    }
    (run_dir / "destination.json").write_text(json.dumps(destination_config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRBYTE", "VIRTUAL_ENV"))}
    # PyAirbyte writes its logs and any cache under these; keep them in the test's directory.
    env.update(AIRBYTE_LOGGING_ROOT=str(run_dir / "logs"), AIRBYTE_OFFLINE_MODE="1", DO_NOT_TRACK="1")
    proc = subprocess.run(
        [
            str(PYAIRBYTE_PYTHON),
            str(SYNC_SCRIPT),
            "--faker",
            str(SOURCE_FAKER),
            "--faker-config",
            str(run_dir / "faker.json"),
            "--destination",
            str(CONNECTOR),
            "--destination-config",
            str(run_dir / "destination.json"),
        ],
        capture_output=True,
        text=True,
        timeout=SYNC_TIMEOUT_S,
        cwd=run_dir,
        env=env,
    )
    assert proc.returncode == 0, f"PyAirbyte sync failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert API_KEY not in proc.stdout + proc.stderr, "the API key leaked into PyAirbyte's output"
    for log in (run_dir / "logs").rglob("*"):
        if log.is_file():
            assert API_KEY not in log.read_text(errors="replace"), f"the API key leaked into {log}"
    return proc


def processed_records(proc: subprocess.CompletedProcess) -> int:
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("RESULT:")]
    return json.loads(line.removeprefix("RESULT:"))["processed_records"]


def as_twenty_stores(telephone: str) -> tuple[str, str, str]:
    """(number, country, calling code) of a faker telephone read in the US, as Twenty's PHONES field holds it."""
    parsed = phonenumbers.parse(telephone, "US")
    region = phonenumbers.region_code_for_number(parsed)
    if not region or region == "001":
        region = "US" if parsed.country_code == 1 else ""
    return phonenumbers.national_significant_number(parsed), region, f"+{parsed.country_code}"


def expected_people(users: list[dict[str, Any]]) -> dict[str, tuple]:
    return {
        u["email"]: (u["name"], u["address"]["city"], as_twenty_stores(u["telephone"]), u["occupation"])
        for u in users
    }


def stored_people(emulator) -> dict[str, tuple]:
    people = emulator.records("people")
    by_email = {
        p["emails"]["primaryEmail"]: (
            p["name"]["firstName"],
            p["city"],
            (
                p["phones"]["primaryPhoneNumber"],
                p["phones"]["primaryPhoneCountryCode"],
                p["phones"]["primaryPhoneCallingCode"],
            ),
            p["jobTitle"],
        )
        for p in people
    }
    assert len(by_email) == len(people), "two stored people share an email"
    return by_email


def twenty_ids(emulator, users: list[dict[str, Any]]) -> dict[int, str]:
    """faker id -> the Twenty record that holds that user now (joined through the user's email)."""
    by_email = {p["emails"]["primaryEmail"]: p["id"] for p in emulator.records("people")}
    return {u["id"]: by_email[u["email"]] for u in users}


@pytest.mark.timeout(3 * SYNC_TIMEOUT_S)
def test_two_pyairbyte_syncs_of_faker_users_store_exactly_the_latest_users(tmp_path):
    for path in (PYAIRBYTE_PYTHON, SOURCE_FAKER, CONNECTOR):
        require(path)
    first_users, second_users = faker_users(1, tmp_path), faker_users(2, tmp_path)
    assert len(first_users) == len(second_users) == USERS
    assert sorted(u["id"] for u in first_users) == sorted(u["id"] for u in second_users)
    # The second seed must really change what a primary key carries, or the dedup check below proves nothing.
    assert {u["id"]: u["email"] for u in first_users} != {u["id"]: u["email"] for u in second_users}
    assert len({u["email"] for u in first_users}) == USERS  # emails are unique, so they can join the data

    with run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator:
        first = pyairbyte_sync(emulator, 1, tmp_path)
        assert processed_records(first) == USERS
        assert stored_people(emulator) == expected_people(first_users)
        identity = twenty_ids(emulator, first_users)

        second = pyairbyte_sync(emulator, 2, tmp_path)
        assert processed_records(second) == USERS
        assert len(emulator.records("people")) == USERS  # updated in place, not duplicated
        assert stored_people(emulator) == expected_people(second_users)
        assert twenty_ids(emulator, second_users) == identity  # each id is still its own Twenty record
