"""The command line, the testing helper and the /_emulator inspection door."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests

from twenty_emulator.testing import run_emulator


def test_help_documents_every_option():
    out = subprocess.run(
        [sys.executable, "-m", "twenty_emulator", "--help"], capture_output=True, text=True, timeout=20
    ).stdout
    for option in (
        "--host",
        "--port",
        "--api-key",
        "--db",
        "--max-batch",
        "--max-body-mb",
        "--rate-limit",
        "--retry-after",
        "--faults",
        "--fault-seed",
        "--api-key-name",
        "--quiet",
        "--verbose",
        "--demo-data",
    ):
        assert option in out


def test_sigterm_stops_cleanly():
    with run_emulator() as emu:
        emu.process.send_signal(signal.SIGTERM)
        assert emu.process.wait(timeout=5) == 0


def test_inspection_door_and_reset(tmp_path):
    with run_emulator("--demo-data", "--max-batch", "2") as emu:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        assert len(emu.records("people")) == 4 and len(emu.records("companies")) == 3
        resp = requests.post(emu.url + "/rest/batch/people", json=[{}, {}, {}], headers=headers, timeout=5)
        assert resp.json()["messages"] == ["Maximum number of records to upsert is 2."]
        person = emu.records("people")[0]
        requests.delete(f"{emu.url}/rest/people/{person['id']}?soft_delete=true", headers=headers, timeout=5)
        assert len(emu.records("people")) == 4
        assert len(emu.records("people", include_deleted=False)) == 3
        log = emu.requests()
        assert log[-1]["method"] == "DELETE" and log[-1]["status"] == 200 and log[0]["records"] == 3
        emu.reset()
        assert emu.requests() == []
        assert len(emu.records("people")) == 4  # demo data is seeded again


def test_db_file_keeps_records(tmp_path):
    db = str(tmp_path / "twenty.sqlite")
    with run_emulator("--db", db) as emu:
        r = requests.post(
            emu.url + "/rest/people",
            json={"jobTitle": "kept"},
            headers={"Authorization": f"Bearer {emu.api_key}"},
            timeout=5,
        )
        assert r.status_code == 201
    with run_emulator("--db", db) as emu:
        assert [p["jobTitle"] for p in emu.records("people")] == ["kept"]


def test_verbose_logs_to_stderr():
    with run_emulator("--verbose") as emu:
        requests.get(emu.url + "/healthz", timeout=5)
        emu.stop()
        assert any("GET /healthz -> 200" in line for line in emu.stderr_tail)


def test_a_body_over_the_limit_is_a_413_and_writes_nothing():
    with run_emulator("--rate-limit", "off", "--max-body-mb", "0.01", api_key="k") as emu:
        headers = {"Authorization": "Bearer k"}
        big = [{"jobTitle": "x" * 20_000}]
        response = requests.post(f"{emu.url}/rest/batch/people", json=big, headers=headers, timeout=10)
        assert response.status_code == 413
        assert response.json() == {
            "statusCode": 413,
            "error": "PayloadTooLargeError",
            "messages": ["request entity too large"],
        }
        small = requests.post(
            f"{emu.url}/rest/batch/people", json=[{"jobTitle": "ok"}], headers=headers, timeout=10
        )
        assert small.status_code == 201
        assert [p["jobTitle"] for p in emu.records("people")] == ["ok"]
