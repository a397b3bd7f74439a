"""Each fault kind, on /rest/ requests only, numbered 1-based."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
import requests

from twenty_emulator.testing import run_emulator


def auth(emu) -> dict:
    return {"Authorization": f"Bearer {emu.api_key}"}


@pytest.mark.parametrize("kind, status", [("500", 500), ("502", 502), ("503", 503), ("429", 429)])
def test_status_faults_at_exact_numbers(kind, status):
    with run_emulator("--rate-limit", "off", "--faults", f"{kind}@2;3") as emu:
        requests.get(emu.url + "/healthz", timeout=5)  # not a /rest/ request: not counted
        codes = [requests.get(emu.url + "/rest/people", headers=auth(emu), timeout=5) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, status, status, 200]
        if kind == "500":
            assert codes[1].json() == {
                "statusCode": 500,
                "error": "InternalServerErrorException",
                "messages": ["Internal server error"],
            }
        if kind == "429":
            assert codes[1].json()["error"] == "HttpException" and "Retry-After" not in codes[1].headers
        if kind in ("502", "503"):
            assert not codes[1].headers["Content-Type"].startswith("application/json")
        log = emu.requests()
        assert [e["n"] for e in log] == [None, 1, 2, 3, 4]
        assert [e["fault"] for e in log][1:] == [None, kind, kind, None]


def test_reset_drops_before_doing_anything():
    with run_emulator("--faults", "reset@1") as emu:
        with pytest.raises(requests.ConnectionError):
            requests.post(emu.url + "/rest/people", json={"jobTitle": "x"}, headers=auth(emu), timeout=5)
        assert emu.records("people") == []
        assert requests.get(emu.url + "/rest/people", headers=auth(emu), timeout=5).status_code == 200


def test_commit_reset_writes_then_drops():
    with run_emulator("--faults", "commit-reset@1") as emu:
        with pytest.raises(requests.ConnectionError):
            requests.post(emu.url + "/rest/people", json={"jobTitle": "x"}, headers=auth(emu), timeout=5)
        assert [p["jobTitle"] for p in emu.records("people")] == ["x"]


def test_timeout_holds_then_closes():
    with run_emulator("--faults", "timeout@1;2", "--timeout-hold-seconds", "1") as emu:
        with pytest.raises(requests.Timeout):
            requests.get(emu.url + "/rest/people", headers=auth(emu), timeout=0.3)
        started = time.monotonic()
        with pytest.raises(requests.ConnectionError):
            requests.get(emu.url + "/rest/people", headers=auth(emu), timeout=5)
        assert time.monotonic() - started >= 0.9


def test_latency_applies_to_every_request():
    with run_emulator("--faults", "latency=150:1.0") as emu:
        started = time.monotonic()
        assert requests.get(emu.url + "/rest/people", headers=auth(emu), timeout=5).status_code == 200
        assert time.monotonic() - started >= 0.15


def test_probabilistic_faults_repeat_with_a_seed():
    runs = []
    for _ in range(2):
        with run_emulator("--rate-limit", "off", "--faults", "500:0.5", "--fault-seed", "7") as emu:
            with requests.Session() as s:
                runs.append(
                    [
                        s.get(emu.url + "/rest/people", headers=auth(emu), timeout=5).status_code
                        for _ in range(20)
                    ]
                )
    assert runs[0] == runs[1] and 500 in runs[0] and 200 in runs[0]


def test_bad_fault_spec_exits_with_error():
    with pytest.raises(RuntimeError):
        with run_emulator("--faults", "explode:1"):
            pass


def test_truncate_writes_then_cuts_the_answer_short():
    with run_emulator("--rate-limit", "off", "--faults", "truncate@1;2") as emu:
        url = emu.url + "/rest/batch/people"
        body = [{"jobTitle": "x"}, {"jobTitle": "y"}]
        # Read the raw answer: the headers promise more bytes than arrive before the server closes.
        conn = http.client.HTTPConnection(urlsplit(emu.url).hostname, urlsplit(emu.url).port, timeout=5)
        conn.request("POST", "/rest/batch/people", body=json.dumps(body), headers=auth(emu))
        answer = conn.getresponse()
        assert answer.status == 201
        promised = int(answer.getheader("Content-Length"))
        with pytest.raises(http.client.IncompleteRead) as cut:
            answer.read()
        assert 0 < len(cut.value.partial) < promised
        assert cut.value.partial.startswith(b'{"data":{"createPeople":[')
        conn.close()
        assert sorted(p["jobTitle"] for p in emu.records("people")) == ["x", "y"]  # committed all the same
        entry = emu.requests()[0]
        assert entry["fault"] == "truncate" and entry["status"] == 201 and entry["records"] == 2
        # requests reports the short body as a transport error; the next request is answered whole.
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.post(url, json=body, headers=auth(emu), timeout=5)
        assert requests.get(emu.url + "/rest/people", headers=auth(emu), timeout=5).json()["totalCount"] == 4
