"""Issue 5: nothing lost, nothing duplicated, whatever the server or the process does."""

import http.server
import threading
import time

import pytest

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state
from reliability import scenarios
from twenty_emulator.testing import run_emulator

MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]


# CI runs the scenarios on fewer records than `make reliability` (5,000 and 2,000, in docs/reliability.md):
# small batches keep the number of requests, and so of injected faults, high.
FAULT_RECORDS, FAULT_BATCH = 1000, 10
CRASH_RECORDS = 1000  # the kill comes after the fifth state (500 records): half is left to resume


def people(count, tag="R"):
    return [{"email": f"{tag.lower()}{i}@rel.example", "first": f"{tag}{i}"} for i in range(count)]


@pytest.mark.parametrize("write_mode", ["create", "upsert", "update"])
def test_fault_matrix_stores_exactly_what_was_sent(write_mode):
    outcome = scenarios.fault_matrix(write_mode, count=FAULT_RECORDS, batch_size=FAULT_BATCH)
    assert outcome.exit_codes == [0]
    # The mix really was injected, ambiguous failures included.
    assert sum(outcome.faults.values()) >= 0.08 * outcome.requests, (outcome.faults, outcome.requests)
    assert outcome.faults["commit-reset"] >= 1 and outcome.faults["reset"] >= 1, outcome.faults
    assert (outcome.stored, outcome.duplicates, outcome.lost, outcome.wrong) == (FAULT_RECORDS, 0, 0, 0)
    assert outcome.state_written + outcome.state_rejected == FAULT_RECORDS


@pytest.mark.parametrize("write_mode", ["upsert", "create"])
def test_kill_9_mid_sync_then_resume_from_the_last_state_equals_one_clean_run(write_mode):
    outcome = scenarios.crash_resume(write_mode, count=CRASH_RECORDS)
    assert outcome.exit_codes[0] == -9 and outcome.exit_codes[1] == 0
    assert (outcome.stored, outcome.duplicates, outcome.lost, outcome.wrong) == (CRASH_RECORDS, 0, 0, 0)


def test_exhausted_retries_end_as_transient_error(tmp_path):
    # Request 1 reads the metadata; every later one (the batch write and its retries) gets a 503.
    always_503 = "503@" + ";".join(str(n) for n in range(2, 60))
    with run_emulator("--rate-limit", "off", "--faults", always_503, api_key=API_KEY) as emulator:
        run = run_connector(
            ["write"],
            tmp_path,
            config_for(emulator, "people", column_mapping=MAPPING, max_retry_seconds=3),
            catalog_for("people"),
            [record("people", r) for r in people(3)] + [state("people", 3)],
        )
        attempts = [r for r in emulator.requests() if r["path"] == "/rest/batch/people"]
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "transient_error"
    assert "503" in error["message"] and "retry budget" in error["message"]
    assert len(attempts) >= 2  # it did retry before giving up
    assert run.states == []


def test_a_revoked_key_ends_the_write_as_config_error(emulator, tmp_path):
    config = config_for(emulator, "people", column_mapping=MAPPING, api_key="revoked-" + API_KEY[::-1])
    run = run_connector(["write"], tmp_path, config, catalog_for("people"), [record("people", people(1)[0])])
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "Authentication" in error["message"]


def test_other_client_errors_are_not_retried(emulator, tmp_path):
    # A dangling relation id: Twenty answers 500 with a database message, which a retry never fixes.
    row = {"email": "a@rel.example", "first": "A", "company": "00000000-0000-4000-8000-00000000c0de"}
    mapping = [*MAPPING, {"column": "company", "field": "companyId"}]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping, partial_success=True),
        catalog_for("people"),
        [record("people", row), state("people", 1)],
    )
    assert run.returncode == 0
    assert len([r for r in emulator.requests() if r["path"] == "/rest/batch/people"]) == 1
    (error,) = run.errors
    assert "foreign key" in error["message"]


def test_a_bad_record_is_isolated_in_logarithmic_requests(emulator, tmp_path):
    rows = people(60)
    rows[37]["company"] = "00000000-0000-4000-8000-00000000c0de"  # Twenty fails the whole batch for this one
    mapping = [*MAPPING, {"column": "company", "field": "companyId"}]
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator, "people", column_mapping=mapping, partial_success=True, batch_size=60),
        catalog_for("people"),
        [record("people", r) for r in rows] + [state("people", 60)],
    )
    assert run.returncode == 0, run.stdout
    assert len(emulator.records("people")) == 59
    (error,) = run.errors
    assert "Record 38 of stream 'people'" in error["message"]
    calls = [r for r in emulator.requests() if r["path"] == "/rest/batch/people"]
    assert len(calls) <= 2 * 6 + 1  # bisection: about 2 requests per level of log2(60)
    assert run.states[-1]["destinationStats"] == {"recordCount": 59.0, "rejectedRecordCount": 1.0}


def test_a_timed_out_request_is_retried(tmp_path):
    faults = ("--faults", "timeout@2", "--timeout-hold-seconds", "4")
    with run_emulator("--rate-limit", "off", *faults, api_key=API_KEY) as emulator:
        config = config_for(
            emulator, "people", column_mapping=MAPPING, request_timeout_seconds=1, batch_size=10
        )
        run = run_connector(
            ["write"],
            tmp_path,
            config,
            catalog_for("people"),
            [record("people", r) for r in people(30)] + [state("people", 30)],
        )
        assert run.returncode == 0, run.stdout
        assert len(emulator.records("people")) == 30
        # The held request is logged when the emulator lets it go (after 4 s): wait for it, bounded.
        for _ in range(100):
            log = emulator.requests()
            if any(r["n"] == 2 for r in log):
                break
            time.sleep(0.1)
    # Request 2 (a batch) was held past the connector's 1 s deadline and dropped unanswered; that batch was sent
    # again (request 5) and stored: the timeout happened, and it was retried.
    (held,) = [r for r in log if r["fault"]]
    assert held["n"] == 2 and held["fault"] == "timeout" and held["status"] is None
    batches = [r for r in log if r["path"] == "/rest/batch/people"]
    assert sorted(r["n"] for r in batches) == [2, 3, 4, 5]
    assert all(r["records"] == 10 and r["status"] == 201 for r in batches if r["n"] != 2)
    (echoed,) = run.states
    assert echoed["destinationStats"] == {"recordCount": 30.0}


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []
    target = ""

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).seen.append((self.server.server_address[0], self.path, self.headers.get("Authorization")))
        if self.server.server_address[0] == "127.0.0.1":
            self.send_response(307)
            self.send_header("Location", type(self).target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            body = b'{"data":{"objects":[]}}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_the_key_never_follows_a_redirect_to_another_host(tmp_path):
    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    other = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _Recorder)
    _Recorder.seen = []
    _Recorder.target = f"http://127.0.0.2:{other.server_address[1]}"
    for server in (origin, other):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = {
            "api_key": API_KEY,
            "mode": "people",
            "api_url": f"http://127.0.0.1:{origin.server_address[1]}",
        }
        run = run_connector(["check"], tmp_path, config)
    finally:
        origin.shutdown()
        other.shutdown()
    assert run.status["status"] == "FAILED" and "redirect" in run.status["message"]
    assert all(host == "127.0.0.1" for host, _, _ in _Recorder.seen), _Recorder.seen
