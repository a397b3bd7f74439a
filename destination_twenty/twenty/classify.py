"""What Twenty's answer means: a verdict on the data (DataError, never retried), a refused key, a rate limit, or
an outage a retry can fix. Over REST the status and Twenty's JSON error body decide; over GraphQL, the errors of a
200 answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from destination_twenty.errors import (
    AuthenticationError,
    DataError,
    RedirectRefused,
    TransientAPIError,
    TwentyAPIError,
)

# A 500 whose message is a database error is bad data (a dangling relation id, an impossible date, a null in a
# required column): retrying never fixes it, so it is a DataError and the writer isolates the record.
_DATABASE_ERROR = re.compile(
    r"violates (foreign key|not-null|unique|check) constraint|out of range|invalid input (syntax|value)"
    r"|value too long|duplicate key",
    re.IGNORECASE,
)
# Statuses whose answer, when it carries Twenty's JSON error body, is a verdict on the data (never retried).
_VERDICT_STATUS = frozenset({400, 404, 409, 413, 422})
# The v1.3 line's second limiter (graphql-rate-limit on every GraphQL root field, metadata REST included:
# graphql-config/hooks/use-throttler.ts) refuses with this message: a 400 from the metadata REST API, a 200 with
# a GraphQL error from /graphql. A rate limit, not a verdict; it counts refused calls too, so waiting is the cure.
_TOO_MANY_REQUESTS = "too many requests."


def classify(method: str, path: str, response: requests.Response) -> TwentyAPIError:
    """The exception for an answer that is not a success; TransientAPIError for what a retry can fix."""
    status = response.status_code
    message, code = error_text(response)
    where = f"{method} {path}"
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("Location", "")).hostname or "another address"
        return RedirectRefused(
            f"Twenty at the configured api_url answered with a redirect ({status}) to {target}; "
            "set api_url to the final address (the API key is never sent after a redirect).",
            status=status,
        )
    if status in (401, 403):
        return AuthenticationError(
            f"Twenty refused the API key ({status}): {message}", status=status, code=code
        )
    if status == 500 and _DATABASE_ERROR.search(message):
        return DataError(message, status=status, code=code)
    if status == 404 and path.startswith("/metadata"):
        return TwentyAPIError(f"{where}: not found (404): {message}", status=status, code=code)
    if status in _VERDICT_STATUS and _is_twenty_error_body(response) and not is_throttled(response):
        # Twenty's own verdict on the data sent: the writer isolates the record(s) at fault.
        return DataError(message, status=status, code=code)
    # Everything else (429, 5xx, a proxy's 408/425/507/520-524, an HTML page from a load balancer) is an
    # outage, not a judgement on the record: retried within the budget, then a transient_error.
    if status != 429 and is_throttled(response):
        return TransientAPIError(
            f"{where}: rate limited by Twenty's GraphQL and metadata limiter ({status}: {message})",
            status=status,
            code=code,
        )
    return TransientAPIError(f"{where}: Twenty answered {status}: {message}", status=status, code=code)


def is_throttled(response: requests.Response) -> bool:
    """A 429, or the v1.3 metadata limiter's 400 "Too many requests." (nothing was done; try again later)."""
    if response.status_code == 429:
        return True
    if response.status_code != 400 or len(response.content) > 200:
        return False
    message, _ = error_text(response)
    return message.strip().lower() == _TOO_MANY_REQUESTS


def graphql_error(where: str, body: Mapping[str, Any]) -> TwentyAPIError | None:
    """The exception for a GraphQL answer (a 200) that carries errors, None for one that does not. A rate limit
    comes back as a 200 with an error: RATE_LIMITED (v1.20+), or on the v1.3 line "Limit reached" (the API-key
    throttler) or "Too many requests." (graphql-rate-limit, see above); it is a TransientAPIError."""
    errors = body.get("errors")
    if not errors:
        return None
    message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, Mapping)) or "GraphQL error"
    codes = {str((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, Mapping)}
    lowered = message.lower()
    if "RATE_LIMITED" in codes or "limit reached" in lowered or _TOO_MANY_REQUESTS in lowered:
        return TransientAPIError(f"{where}: rate-limited past the retry budget ({message})")
    if codes & {"UNAUTHENTICATED", "FORBIDDEN"}:
        return AuthenticationError(f"Twenty refused the API key over GraphQL: {message}")
    return DataError(message, status=200, code=next(iter(codes), None))


def _is_twenty_error_body(response: requests.Response) -> bool:
    """Twenty's errors are JSON objects with `messages` (or the framework's singular `message`) and `error`;
    a proxy's HTML page or an empty body is not Twenty speaking."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and ("messages" in body or "message" in body)


def error_text(response: requests.Response) -> tuple[str, str | None]:
    """Twenty's error message (`messages` list, or the singular `message` of framework errors) and code."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return (text or response.reason or f"HTTP {response.status_code}"), None
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}", None
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        message = "; ".join(str(m) for m in messages)
    else:
        message = str(body.get("message") or body.get("error") or f"HTTP {response.status_code}")
    code = body.get("code")
    return message, code if isinstance(code, str) else None
