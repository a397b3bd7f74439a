import socket
import time

from integration_tests.conftest import API_KEY, config_for, run_connector


def test_check_succeeds_with_a_good_config(emulator, tmp_path):
    # requests_per_minute=1 paces syncs, but must not make check wait a minute between its calls
    started = time.monotonic()
    run = run_connector(["check"], tmp_path, config_for(emulator, "people", requests_per_minute=1))
    assert run.returncode == 0
    assert run.status["status"] == "SUCCEEDED", run.status
    assert time.monotonic() - started < 20


def test_check_names_authentication_for_a_bad_key(emulator, tmp_path):
    config = config_for(emulator, "people", api_key="wrong-" + API_KEY[::-1])
    run = run_connector(["check"], tmp_path, config)
    assert run.returncode == 0
    assert run.status["status"] == "FAILED"
    assert "Authentication" in run.status["message"]
    assert "401" in run.status["message"]


def test_check_fails_fast_on_an_unreachable_url(tmp_path):
    # The hidden check_retry_seconds shortens check's 15 s budget; the silent server below keeps the real one.
    config = {"api_key": API_KEY, "mode": "people", "api_url": "http://127.0.0.1:9", "check_retry_seconds": 1}
    run = run_connector(["check"], tmp_path, config, timeout=60)
    assert run.status["status"] == "FAILED"
    assert "could not be reached" in run.status["message"]
    assert "within the 1 s" in run.status["message"]  # the knob was used


def test_check_names_a_missing_custom_object(emulator, tmp_path):
    run = run_connector(["check"], tmp_path, config_for(emulator, "custom", custom_object="spaceships"))
    assert run.status["status"] == "FAILED"
    assert "'spaceships' does not exist" in run.status["message"]


def test_check_catches_the_seed_mapping_that_sends_employees_to_people(emulator, tmp_path):
    # The seed document's own example maps company_size → employees on People, which has no such field.
    mapping = [
        {"column": "email", "field": "emails.primaryEmail", "transforms": ["lowercase"]},
        {"column": "first_name", "field": "name.firstName"},
        {"column": "company_size", "field": "employees"},
        {"column": "revenue", "field": "annualRecurringRevenue.amountMicros"},
    ]
    run = run_connector(["check"], tmp_path, config_for(emulator, "people", column_mapping=mapping))
    assert run.status["status"] == "FAILED"
    message = run.status["message"]
    assert "employees" in message and "annualRecurringRevenue" in message
    assert "closest" in message.lower()


def test_check_rejects_an_unknown_transform(emulator, tmp_path):
    mapping = [{"column": "email", "field": "emails.primaryEmail", "transforms": ["lowercase", "titlecase"]}]
    run = run_connector(["check"], tmp_path, config_for(emulator, "people", column_mapping=mapping))
    assert run.status["status"] == "FAILED"
    assert "titlecase" in run.status["message"]


def test_check_rejects_a_custom_object_name_with_path_tricks(emulator, tmp_path):
    run = run_connector(
        ["check"], tmp_path, config_for(emulator, "custom", custom_object="../metadata/objects")
    )
    assert run.status["status"] == "FAILED"
    assert "custom_object" in run.status["message"]


def test_check_fails_within_30_seconds_when_the_server_never_answers(tmp_path):
    # A server that accepts connections and then says nothing: the worst case for "unreachable".
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        config = {
            "api_key": API_KEY,
            "mode": "people",
            "api_url": f"http://127.0.0.1:{silent.getsockname()[1]}",
        }
        started = time.monotonic()
        run = run_connector(["check"], tmp_path, config, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert run.status["status"] == "FAILED"
    assert "no answer from Twenty in time" in run.status["message"]
    assert elapsed < 30
