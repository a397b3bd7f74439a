"""Issue 20 §4: check reports an unexpected error (a bug) by its type in one line, logs its traceback at DEBUG,
and says where to find it. A small fake server plays a Twenty whose metadata the connector does not expect."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration_tests.conftest import run_connector


class _OddMetadata(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path.startswith("/rest/metadata/objects"):
            body = {"data": {"objects": [{"namePlural": "people", "nameSingular": "person", "fields": 5}]}}
        else:
            body = {"data": {"people": []}, "totalCount": 0}
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def odd_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OddMetadata)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _config(url):
    return {"api_key": "odd-key-0123456789abcdef", "api_url": url, "mode": "people", "check_retry_seconds": 1}


def test_check_names_an_unexpected_error_and_where_its_traceback_is(odd_server, tmp_path):
    run = run_connector(["check"], tmp_path, _config(odd_server))
    assert run.status["status"] == "FAILED"
    message = run.status["message"]
    assert message.startswith("Unexpected error: ") and "--debug" in message and "DEBUG" in message, message
    assert not [m for m in run.of_type("LOG") if m["log"]["level"] == "DEBUG"]  # not at the default level
    debug = run_connector(["check", "--debug"], tmp_path, _config(odd_server))
    assert debug.status == run.status
    (trace,) = [m["log"]["message"] for m in debug.of_type("LOG") if m["log"]["level"] == "DEBUG"]
    assert "check failed with" in trace and 'File "' in trace and "destination_twenty" in trace
