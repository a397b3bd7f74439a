"""Issue 8, items 1 and 14: every RECORD line is written or counted as rejected, whatever the JSON parser thinks
of it, and the key is masked in what we print without rewriting anything else."""

import http.server
import json
import threading

from integration_tests.conftest import API_KEY, catalog_for, config_for, record, run_connector, state


def deep_record_line(stream: str, levels: int = 5000) -> str:
    data = '{"email": "deep@io.example", "city": ' + "[" * levels + "]" * levels + "}"
    return '{"type": "RECORD", "record": {"stream": "' + stream + '", "data": ' + data + ', "emitted_at": 1}}'


def people(*emails):
    return [record("people", {"emails.primaryEmail": e, "city": "Paris"}) for e in emails]


def test_a_lone_surrogate_is_rejected_naming_the_column_and_counted(emulator, tmp_path):
    lone = json.dumps(record("people", {"emails.primaryEmail": "lone@io.example", "city": "Pa\ud800ris"}))
    assert "\\ud800" in lone  # what Python's json.dumps writes, and orjson refuses
    messages = [*people("a@io.example"), lone, *people("b@io.example"), state("people", 3, 1)]
    run = run_connector(
        ["write"], tmp_path, config_for(emulator, partial_success=True), catalog_for("people"), messages
    )
    assert run.returncode == 0, run.stdout[-2000:]
    (error,) = run.errors
    assert "Record 2 of stream 'people'" in error["message"]
    assert "column 'city'" in error["message"] and "\\ud800" in error["message"]
    assert sorted(p["emails"]["primaryEmail"] for p in emulator.records("people")) == [
        "a@io.example",
        "b@io.example",
    ]
    (echoed,) = run.states
    assert echoed["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}


def test_a_record_nested_5000_levels_deep_is_rejected_and_counted(emulator, tmp_path):
    messages = [
        *people("a@io.example"),
        deep_record_line("people"),
        *people("b@io.example"),
        state("people", 3),
    ]
    run = run_connector(
        ["write"], tmp_path, config_for(emulator, partial_success=True), catalog_for("people"), messages
    )
    assert run.returncode == 0, run.stdout[-2000:]
    (error,) = run.errors
    assert "Record 2 of stream 'people'" in error["message"] and "deeper" in error["message"]
    assert error["stream_descriptor"] == {"name": "people"}
    assert len(emulator.records("people")) == 2
    assert run.states[-1]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}


def test_without_partial_success_an_unreadable_record_fails_the_sync_and_the_state_stays_before_it(
    emulator, tmp_path
):
    messages = [
        *people("a@io.example"),
        state("people", 1, 1),
        deep_record_line("people"),
        *people("b@io.example"),
        state("people", 3, 2),
    ]
    run = run_connector(["write"], tmp_path, config_for(emulator), catalog_for("people"), messages)
    assert run.returncode == 1
    (error,) = run.errors
    assert "Record 2 of stream 'people'" in error["message"]
    assert [s["id"] for s in run.states] == [1]  # the platform resends from here; nothing is skipped
    assert [p["emails"]["primaryEmail"] for p in emulator.records("people")] == ["a@io.example"]


def test_a_broken_record_line_that_names_its_stream_is_rejected_not_ignored(emulator, tmp_path):
    broken = (
        '{"type": "RECORD", "record": {"stream": "people", "data": {"emails.primaryEmail": "x@io.example",'
    )
    messages = [*people("a@io.example"), broken, state("people", 2)]
    run = run_connector(
        ["write"], tmp_path, config_for(emulator, partial_success=True), catalog_for("people"), messages
    )
    assert run.returncode == 0, run.stdout[-2000:]
    (error,) = run.errors
    assert "Record 2 of stream 'people'" in error["message"] and "not valid JSON" in error["message"]
    assert run.states[-1]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 1.0}


def test_a_state_with_a_lone_surrogate_is_echoed_as_it_came(emulator, tmp_path):
    odd = state("people", "cursor-\ud800", 5)
    run = run_connector(
        ["write"],
        tmp_path,
        config_for(emulator),
        catalog_for("people"),
        [*people("a@io.example"), json.dumps(odd)],
    )
    assert run.returncode == 0, run.stdout[-2000:]
    (echoed,) = run.states
    assert echoed["stream"]["stream_state"]["cursor"] == "cursor-\ud800" and echoed["id"] == 5
    assert "cursor-\\ud800" in run.stdout  # written back as the escape it arrived as


def test_a_key_too_short_to_be_real_is_refused_and_nothing_is_rewritten(emulator, tmp_path):
    for command in (["check"], ["write"]):
        config = config_for(emulator, api_key="1")
        run = run_connector(
            command,
            tmp_path,
            config,
            catalog_for("people") if command == ["write"] else None,
            [state("people", 1)],
        )
        message = run.status["message"] if command == ["check"] else run.errors[0]["message"]
        assert "api_key" in message and "16" in message, message
        assert "****" not in run.stdout


class _EchoingServer(http.server.BaseHTTPRequestHandler):
    """Answers 401 quoting the bearer token lower-cased, as some proxies and older servers do."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        body = json.dumps(
            {"statusCode": 401, "messages": [f"Token invalid: {token.lower()}"], "error": "Unauthorized"}
        )
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_a_key_echoed_lower_cased_is_masked(tmp_path):
    key = "MixedCase-Key-" + API_KEY  # upper-case letters, so the lower-cased echo differs from the key
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoingServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = {"api_key": key, "mode": "people", "api_url": f"http://127.0.0.1:{server.server_address[1]}"}
        run = run_connector(["check"], tmp_path, config)
    finally:
        server.shutdown()
    assert run.status["status"] == "FAILED"
    assert "Token invalid: ****" in run.status["message"], run.status
    assert key.lower() not in run.stdout.lower()
