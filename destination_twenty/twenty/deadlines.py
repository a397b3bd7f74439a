"""A total deadline for each HTTP exchange, enforced by closing its socket.

requests' timeouts apply to each socket read: a server that trickles one byte every few seconds never trips them
and can hold a call for ever. Here every attempt is armed with a deadline on one watchdog thread; the connection
that carries the attempt registers its socket when it waits for the answer, and at the deadline the watchdog shuts
that socket down, so the blocked read fails at once. The caller then reports the attempt as past its deadline,
whatever exception (or cut-short body) the shutdown produced.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# The attempt the current thread is making: requests runs the whole exchange (connect, send, headers, body) in
# the calling thread, so the connection finds its attempt here without any plumbing through requests.
_current = threading.local()


class Watch:
    """One attempt's deadline and, once the request is sent, the socket that carries it."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            late = self.expired
        if late:  # the deadline passed while the request was being sent
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sock = self._sock
        _shut(sock)


def _shut(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        # socket.socket's own shutdown, not SSLSocket's: that one drops the TLS state under the reading thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to interrupt


class Watchdog:
    """One daemon thread that expires armed watches at their deadlines."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._armed: set[Watch] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> Watch:
        watch = Watch(self._clock() + seconds)
        with self._cond:
            self._armed.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="twenty-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return watch

    def disarm(self, watch: Watch) -> None:
        with self._cond:
            self._armed.discard(watch)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = self._clock()
                due = [w for w in self._armed if w.deadline <= now]
                for watch in due:
                    self._armed.discard(watch)
                    watch.expire()
                upcoming = min((w.deadline for w in self._armed), default=None)
                # With nothing armed, sleep until arm() notifies; a long idle wait costs nothing.
                self._cond.wait(None if upcoming is None else max(upcoming - now, 0.001))


@contextmanager
def watching(watch: Watch) -> Iterator[Watch]:
    """Make `watch` the attempt of this thread's next request."""
    _current.watch = watch
    try:
        yield watch
    finally:
        _current.watch = None


class _WatchedMixin:
    sock: socket.socket | None

    def getresponse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The request is sent and its socket exists: from here on, only the watchdog can end a trickled answer.
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections report their socket to the current thread's watch."""

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
