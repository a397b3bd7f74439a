"""The v1.3 line's second limiter: graphql-rate-limit (3.3.0), which the graphql-yoga servers of /graphql and
/metadata run on every root field (graphql-config/hooks/use-throttler.ts, `window: ${API_RATE_LIMITING_TTL}s`,
`max: API_RATE_LIMITING_LIMIT`; the rig sets 100 and 100). The metadata REST API is answered through the metadata
GraphQL API, so it meets the same limiter, and answers its refusal as a 400.

graphql-rate-limit keeps, per caller and field name, the time of every call in the window, refused calls
included (uncountRejected is not set): a call is refused while the window already holds `max` calls, and a client
that keeps calling keeps itself refused. Nothing is written by a refused call.
"""

from __future__ import annotations

import threading
import time
from collections import deque

MESSAGE = "Too many requests."  # use-throttler.ts: interpolate('Too many requests.', { id })
# How the metadata REST API answers it (seen on the real v1.3 server).
REST_ANSWER = {"statusCode": 400, "messages": [MESSAGE], "error": "Bad Request"}


class FieldLimiter:
    def __init__(self, max_calls: int, window_ms: int):
        self.max_calls = max_calls
        self.window_s = window_ms / 1000
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def refuses(self, field: str) -> bool:
        """Count one call of `field`; True when the limiter refuses it."""
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(field, deque())
            while calls and calls[0] + self.window_s <= now:
                calls.popleft()
            calls.append(now)  # refused calls count too
            return len(calls) > self.max_calls

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


def graphql_answer(field: str) -> dict:
    """/graphql's answer: the resolver's plain Error becomes an INTERNAL_SERVER_ERROR with the message kept
    (use-graphql-error-handler.hook.ts, generateGraphQLErrorFromError), status 200 as every execution error."""
    error = {
        "message": MESSAGE,
        "path": [field],
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "userFriendlyMessage": "An error occurred."},
    }
    return {"errors": [error], "data": {field: None}}
