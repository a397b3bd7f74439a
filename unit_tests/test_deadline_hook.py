"""deadlines.py hooks urllib3's internals (its connection classes and `getresponse`); these tests fail when an
urllib3 release moves them, before a trickling server could hold a sync for ever."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
import urllib3

from destination_twenty.twenty.deadlines import Watch, WatchedAdapter, watching


class _Ok(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self):  # noqa: N802 - http.server's naming
        time.sleep(self.delay)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Recording(Watch):
    def __init__(self):
        super().__init__(deadline=float("inf"))
        self.attached: list = []

    def attach(self, sock):
        self.attached.append(sock)
        super().attach(sock)


def test_the_pinned_urllib3_major_is_the_one_the_hook_was_written_for():
    assert int(urllib3.__version__.split(".")[0]) == 2


def test_a_request_through_the_watched_adapter_hands_its_socket_to_the_watch():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = requests.Session()
    session.mount("http://", WatchedAdapter(max_retries=0))
    watch = _Recording()
    try:
        with watching(watch):
            answer = session.get(f"http://127.0.0.1:{server.server_address[1]}/x", timeout=5)
        assert answer.status_code == 200
        # urllib3 built our connection class and called our getresponse with the live socket.
        assert len(watch.attached) == 1 and watch.attached[0] is not None
        unwatched = session.get(f"http://127.0.0.1:{server.server_address[1]}/y", timeout=5)
        assert unwatched.status_code == 200 and len(watch.attached) == 1  # no watch armed: nothing attached
    finally:
        session.close()
        server.shutdown()
        server.server_close()


class _Slow(_Ok):
    delay = 0.5  # the answer comes after the socket is cut: nothing is buffered yet to read


def test_an_expired_watch_cuts_the_socket_it_was_handed():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = requests.Session()
    session.mount("http://", WatchedAdapter(max_retries=0))
    watch = Watch(deadline=0.0)
    watch.expire()  # already past its deadline when the request is sent: attach must shut the socket at once
    try:
        with watching(watch):
            try:
                session.get(f"http://127.0.0.1:{server.server_address[1]}/x", timeout=5)
            except requests.RequestException:
                pass  # the cut socket fails the read: what the client reports as past the deadline
            else:
                raise AssertionError("an expired watch let the answer through")
    finally:
        session.close()
        server.shutdown()
        server.server_close()
