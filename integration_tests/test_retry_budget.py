"""A GraphQL call has one retry budget (issue 20): its rate limits (200s with an error) and its outages (503s) are
retried in one loop, which gives up by `max_retry_seconds`; a second loop around the first once allowed about
twice that. A small fake server plays the answers: the emulator does not mix the two on one call."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from destination_twenty.config import TwentyConfig
from destination_twenty.errors import TransientAPIError
from destination_twenty.twenty.client import TwentyClient
from integration_tests.conftest import API_KEY

BUDGET = 6.0
RATE_LIMITED = {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATE_LIMITED"}}]}


class _Twenty(BaseHTTPRequestHandler):
    """Three GraphQL rate limits, then 503s for ever, each asking to be retried in half a second."""

    answered = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).answered += 1
        if type(self).answered <= 3:
            status, body = 200, RATE_LIMITED
        else:
            status, body = (
                503,
                {"statusCode": 503, "messages": ["Service Unavailable"], "error": "Unavailable"},
            )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status == 503:
            self.send_header("Retry-After", "0.5")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_graphql_call_gives_up_within_one_retry_budget():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Twenty)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = TwentyConfig.from_mapping({"api_key": API_KEY, "mode": "people", "api_url": url})
        client = TwentyClient(config, retry_seconds=BUDGET, timeout=(2.0, 2.0), per_minute=60000)
        started = time.monotonic()
        with pytest.raises(TransientAPIError):
            client.graphql("/graphql", "query { people { edges { node { id } } } }", {})
        elapsed = time.monotonic() - started
        client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert _Twenty.answered > 4  # both kinds of answer were retried
    # Three rate limits cost at least 1.75 s of backoff; a fresh budget for the 503s after them (retried every
    # half second) would end past BUDGET + 1.25 s. One budget ends by BUDGET (the allowance: the last answer).
    assert elapsed < BUDGET + 0.5, elapsed
