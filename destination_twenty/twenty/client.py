"""HTTP to Twenty: one session, retries within a deadline, and error classification.

Every call goes through `TwentyClient._send`, which waits for the pacer (pacer.py), gives each attempt a total
deadline (deadlines.py), retries what a retry can fix (429, 5xx that are not data errors, timeouts, dropped
connections, answers past their deadline) until the retry budget runs out, and turns every other answer into one
exception of `errors.py`. Messages carry Twenty's own error text and never the API key.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from destination_twenty.config import TwentyConfig
from destination_twenty.errors import (
    AuthenticationError,
    DataError,
    RedirectRefused,
    RequestCancelled,
    TransientAPIError,
    TwentyAPIError,
)
from destination_twenty.twenty.deadlines import Watchdog, WatchedAdapter, watching
from destination_twenty.twenty.pacer import Pacer, RateLimitHint

USER_AGENT = "airbyte-destination-twenty/0.1"

# A 500 whose message is a database error is bad data (a dangling relation id, an impossible date, a null in a
# required column): retrying never fixes it, so it is a DataError and the writer isolates the record.
_DATABASE_ERROR = re.compile(
    r"violates (foreign key|not-null|unique|check) constraint|out of range|invalid input (syntax|value)"
    r"|value too long|duplicate key",
    re.IGNORECASE,
)
# A retry that would have less time than this before the budget runs out is not made.
MIN_ATTEMPT_SECONDS = 1.0
# Statuses whose answer, when it carries Twenty's JSON error body, is a verdict on the data (never retried).
_VERDICT_STATUS = frozenset({400, 404, 409, 413, 422})
# The v1.3 line's second limiter (graphql-rate-limit on every GraphQL root field, metadata REST included:
# graphql-config/hooks/use-throttler.ts) refuses with this message: a 400 from the metadata REST API, a 200 with
# a GraphQL error from /graphql. A rate limit, not a verdict; it counts refused calls too, so waiting is the cure.
_TOO_MANY_REQUESTS = "too many requests."


@dataclass
class CallStats:
    """Counters for the progress log; updated under the client's lock."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0


class TwentyClient:
    """Twenty's REST API for the connector: shared by every thread of a sync.

    `timeout` is requests' (connect, read) pair, which bounds each socket operation; `request_seconds` bounds a
    whole attempt, answer included (default: the two timeouts added up). `retry_seconds` is the retry budget of
    one call: counted from its first attempt, pacing waits included, and no attempt runs past it.
    """

    def __init__(
        self,
        config: TwentyConfig,
        *,
        retry_seconds: float | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        request_seconds: float | None = None,
        pool_size: int | None = None,
        per_minute: float | None = None,
        pacer: Pacer | None = None,
    ):
        self._base = config.rest_url
        self._root = config.api_url  # /graphql lives beside /rest
        self._host = urlsplit(config.api_url).hostname
        self._retry_seconds = config.max_retry_seconds if retry_seconds is None else retry_seconds
        self._timeout = timeout
        self._request_seconds = sum(timeout) if request_seconds is None else request_seconds
        self._winding_down: threading.Event | None = None  # see stop_retrying_when
        self.pacer = pacer or Pacer(per_minute or config.requests_per_minute)
        self.stats = CallStats()
        self._stats_lock = threading.Lock()
        self._watchdog = Watchdog()
        self._session = requests.Session()
        size = pool_size or max(4, config.max_concurrent_requests)
        adapter = WatchedAdapter(pool_connections=1, pool_maxsize=size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {config.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        # Never send our key anywhere but the configured host (requests would also strip it on a cross-host
        # redirect; we refuse redirects outright, see _send).
        self._session.trust_env = False

    def stop_retrying_when(self, event: threading.Event) -> None:
        """Once `event` is set, a call that Twenty throttled is not tried again: a 429 stored nothing, so giving
        up loses no count. Other failures keep their retries, because their write may have committed and only
        an answer can tell what landed."""
        self._winding_down = event

    def close(self) -> None:
        self._session.close()

    # --- the calls the connector makes -------------------------------------------------------------------

    def metadata_objects(self) -> list[dict[str, Any]]:
        """Every object of the workspace with its fields (needs the API key's Data Model permission).

        `{"data": {"objects": [...]}}` on older servers, `{"data": [...], "pageInfo", "totalCount"}` on the v2
        line, which pages them (60 by default, by id: engine/api/rest/metadata/utils/paginate-by-id-cursor.util.ts).
        The first read sends no query string, as older servers refuse any; only a server that said it has more
        pages is asked for the next ones, 200 at a time."""
        body = self._send("GET", "/metadata/objects")
        objects = _metadata_objects(body)
        for _page in range(100):  # bounded: 20,000 objects is far more than any workspace has
            page = body.get("pageInfo") if isinstance(body.get("pageInfo"), dict) else {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                break
            body = self._send(
                "GET", "/metadata/objects", params={"limit": "200", "starting_after": str(page["endCursor"])}
            )
            objects.extend(_metadata_objects(body))
        return objects

    def metadata_relations(self) -> list[dict[str, Any]]:
        """Every object's fields with their relation targets, from the GraphQL metadata API (`POST /metadata`):
        the v2 line's REST listing gives relation fields only `settings`. One call for up to 1,000 objects of
        1,000 fields each (the API's largest page: ObjectMetadataDTO and FieldMetadataDTO's QueryOptions)."""
        objects: list[dict[str, Any]] = []
        after = None
        for _page in range(20):  # bounded
            data = self.graphql("/metadata", _RELATIONS_QUERY, {"after": after})
            connection = data.get("objects") if isinstance(data.get("objects"), dict) else {}
            for edge in connection.get("edges") or ():
                node = edge.get("node") if isinstance(edge, dict) else None
                if isinstance(node, dict):
                    fields = node.get("fields") if isinstance(node.get("fields"), dict) else {}
                    edges = fields.get("edges") or ()
                    rows = [
                        e["node"] for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)
                    ]
                    objects.append({**node, "fields": rows})
            page = connection.get("pageInfo") if isinstance(connection.get("pageInfo"), dict) else {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                break
            after = page["endCursor"]
        return objects

    def probe(self, plural: str) -> None:
        """Read one record: proves the key can read the object."""
        self._send("GET", f"/{plural}", params={"limit": "1"})

    def find(self, plural: str, filter_expression: str | None) -> list[dict[str, Any]]:
        """Records matching a REST filter (None: all of them; soft-deleted ones excluded), every page."""
        rows: list[dict[str, Any]] = []
        params = (
            {"limit": "200"} if filter_expression is None else {"filter": filter_expression, "limit": "200"}
        )
        for _page in range(1000):  # bounded: 200,000 records is far more than any lookup of ours
            body = self._send("GET", f"/{plural}", params=params)
            rows.extend(row for row in _list_payload(body, plural) if isinstance(row, dict))
            page = body.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                break
            params = {**params, "starting_after": str(page["endCursor"])}
        return rows

    def find_all_if_at_most(self, plural: str, at_most: int) -> list[dict[str, Any]] | None:
        """Every record of the object (soft-deleted ones excluded) if it holds at most `at_most`, else None:
        the first page's `totalCount` decides, so a large object costs one call."""
        params = {"limit": "200"}
        rows: list[dict[str, Any]] = []
        for _page in range(at_most // 200 + 2):  # bounded by at_most
            body = self._send("GET", f"/{plural}", params=params)
            total = body.get("totalCount")
            if not isinstance(total, int) or isinstance(total, bool) or total > at_most:
                return None
            rows.extend(row for row in _list_payload(body, plural) if isinstance(row, dict))
            page = body.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return rows
            params = {**params, "starting_after": str(page["endCursor"])}
        return None

    def records_by_id(self, plural: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored records among `ids`, by id. One filtered read per 200 ids."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 200):
            for row in self.find(plural, f"id[in]:[{','.join(ids[start : start + 200])}]"):
                if isinstance(row.get("id"), str):
                    found[row["id"]] = row
        return found

    def create_many(
        self,
        plural: str,
        records: Sequence[Mapping[str, Any]],
        upsert: bool,
        attempts: dict[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """POST /rest/batch/{plural}[?upsert=true]: the stored records (updates first, then inserts).

        `attempts`, when given, receives how many attempts the call took and the seconds from the first to the
        last: an answer lost after the commit makes the retry meet records the first attempt created."""
        params = {"upsert": "true"} if upsert else None
        body = self._send("POST", f"/batch/{plural}", params=params, payload=list(records), attempts=attempts)
        data = body.get("data")
        rows = next(iter(data.values()), None) if isinstance(data, dict) and data else None
        if not isinstance(rows, list):
            raise TwentyAPIError("Twenty's answer to a batch write has no list of records.")
        return rows

    def batch_upsert_over_rest(self, plural: str) -> bool:
        """Does REST batch create take `?upsert=true`? An empty batch writes nothing and tells them apart: the
        create-many handler that reads the flag (common query runner, Twenty ≥ late 2025) answers 201 with an
        empty list; the older handler (v1.3 line, rest-api-create-many.handler.ts) refuses an empty input."""
        try:
            self._send("POST", f"/batch/{plural}", params={"upsert": "true"}, payload=[])
        except DataError as exc:
            if "must not be empty" in exc.message.lower():
                return False
            raise
        return True

    def graphql_upsert_works(self, singular: str, plural: str) -> bool:
        """Does `/graphql` serve create<Plural>(data, upsert)? An empty list writes nothing.

        Only Twenty's own answer says no: a GraphQL error or Twenty's JSON error body (a 404 from a server without
        /graphql). A 429, a 5xx, a proxy's page or a timeout says nothing about the server's abilities: it is
        retried within the budget and then raised as the TransientAPIError it is, never taken for a "no"."""
        try:
            self.graphql_create_many(singular, plural, [], ["id"])
        except TransientAPIError:
            raise
        except AuthenticationError:
            raise
        except TwentyAPIError:  # DataError included: Twenty's verdict on the mutation or the route
            return False
        return True

    def graphql_create_many(
        self, singular: str, plural: str, records: Sequence[Mapping[str, Any]], selection: Sequence[str]
    ) -> list[dict[str, Any]]:
        """`create<Plural>(data: [...], upsert: true)` over GraphQL: the batch upsert of servers whose REST batch
        ignores `?upsert=true`. Same matching, one atomic batch, errors as DataError for the batch splitter."""
        field = "create" + plural[:1].upper() + plural[1:]
        # Twenty names the input type after the object: PersonCreateInput (workspace GraphQL schema factory).
        kind = singular[:1].upper() + singular[1:] + "CreateInput"
        query = (
            f"mutation Upsert($data: [{kind}!]!) "
            f"{{ {field}(data: $data, upsert: true) {{ {' '.join(selection)} }} }}"
        )
        rows = self.graphql("/graphql", query, {"data": list(records)}).get(field)
        if not isinstance(rows, list):
            raise TwentyAPIError("Twenty's answer to a GraphQL batch upsert has no list of records.")
        return rows

    def graphql_delete_many(
        self, singular: str, plural: str, where: Mapping[str, Any], selection: Sequence[str]
    ) -> list[dict[str, Any]]:
        """`delete<Plural>(filter: …)` over GraphQL: soft-deletes every record the filter matches in one call
        and returns them (graphql-query-delete-many-resolver.service.ts: softDelete().returning('*')). REST
        deletes one record per call, and on the v1.3 line its DELETE destroys whatever soft_delete says."""
        field = "delete" + plural[:1].upper() + plural[1:]
        # The filter input type is named after the object: PersonFilterInput (workspace GraphQL schema factory).
        kind = singular[:1].upper() + singular[1:] + "FilterInput"
        query = (
            f"mutation Delete($filter: {kind}!) {{ {field}(filter: $filter) {{ {' '.join(selection)} }} }}"
        )
        rows = self.graphql("/graphql", query, {"filter": dict(where)}).get(field)
        if not isinstance(rows, list):
            raise TwentyAPIError("Twenty's answer to a GraphQL batch delete has no list of records.")
        return rows

    def graphql(self, path: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """One GraphQL operation on `/graphql` (records) or `/metadata` (the data model): its `data`. A rate
        limit (a 200 with an error) is retried within the budget; errors are DataError (or AuthenticationError)."""
        where = f"POST {path}"
        deadline = time.monotonic() + self._retry_seconds
        for attempt in range(1, 1000):  # bounded by the retry budget below
            body = self._send("POST", path, payload={"query": query, "variables": dict(variables)}, root=True)
            errors = body.get("errors")
            if not errors:
                data = body.get("data")
                return data if isinstance(data, dict) else {}
            message = (
                "; ".join(str(e.get("message")) for e in errors if isinstance(e, Mapping)) or "GraphQL error"
            )
            codes = {str((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, Mapping)}
            # A rate limit comes back as a 200 with an error: RATE_LIMITED (v1.20+), or on the v1.3 line "Limit
            # reached" (the API-key throttler) or "Too many requests." (graphql-rate-limit, see above).
            lowered = message.lower()
            if "RATE_LIMITED" in codes or "limit reached" in lowered or _TOO_MANY_REQUESTS in lowered:
                self._raise_if_winding_down(where)
                delay = _backoff(attempt)
                if time.monotonic() + delay > deadline:
                    raise TransientAPIError(f"{where}: rate-limited past the retry budget ({message})")
                self.pacer.rate_limited(None, RateLimitHint(retry_after=delay))
                time.sleep(delay)
                continue
            if codes & {"UNAUTHENTICATED", "FORBIDDEN"}:
                raise AuthenticationError(f"Twenty refused the API key over GraphQL: {message}")
            raise DataError(message, status=200, code=next(iter(codes), None))
        raise TransientAPIError(f"{where}: no answer within the retry budget")

    # --- one request, paced and retried ------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Any = None,
        attempts: dict[str, float] | None = None,
        root: bool = False,
    ) -> dict[str, Any]:
        url = (self._root if root else self._base) + path
        first = time.monotonic()  # reset at the first send, below
        data = orjson.dumps(payload) if payload is not None else None
        where = f"{method} {path}"
        # The budget is a deadline for the whole call: retries, pacing waits and attempts all end by it.
        deadline = time.monotonic() + self._retry_seconds
        error: TransientAPIError | None = None
        attempt = 0
        while True:
            # The first attempt waits its turn however long pacing says; a retry only while the budget lasts.
            generation = self.pacer.wait(deadline if attempt else None)
            if generation is None:
                raise self._gave_up(error or TransientAPIError(f"{where}: rate limited"), attempt)
            attempt += 1
            if attempt == 1:
                first = time.monotonic()  # the first send, after pacing: the window a lost answer can hide in
            seconds = (
                self._request_seconds
                if attempt == 1
                else min(self._request_seconds, deadline - time.monotonic())
            )
            if seconds < MIN_ATTEMPT_SECONDS:  # an attempt cut this short could only fail
                raise self._gave_up(error or TransientAPIError(f"{where}: no time left"), attempt - 1)
            with self._stats_lock:
                self.stats.calls += 1
            response, failure = self._exchange(method, url, where, params, data, seconds)
            hint = RateLimitHint() if response is None else _rate_limit_hint(response)
            if response is None:
                error = failure
            else:
                if _is_throttled(response):
                    self.pacer.rate_limited(generation, hint)
                    with self._stats_lock:
                        self.stats.rate_limited += 1
                else:
                    self.pacer.succeeded(generation)  # the server let the call through its throttler
                if 200 <= response.status_code < 300:
                    if attempts is not None:
                        attempts.update(count=attempt, seconds=time.monotonic() - first)
                    return _json(response)
                classified = self._classify(method, path, response)
                if not isinstance(classified, TransientAPIError):
                    classified.attempts = (
                        attempt  # a verdict after a retry may be on what a lost attempt stored
                    )
                    raise classified
                error = classified
            if response is not None and response.status_code == 429:
                self._raise_if_winding_down(where)
                # The pacer now holds every thread (until Retry-After, or one widened interval, longer with
                # each 429 in a row): this call waits its turn there, and gives up if that is past the budget.
                delay = 0.0
                ready = time.monotonic()
            elif response is not None and _is_throttled(response):
                self._raise_if_winding_down(where)
                # The v1.3 limiter counts refused calls and says nothing of when: back off, or each retry
                # would keep its window full.
                delay = _backoff(attempt)
                ready = time.monotonic() + delay
            else:
                delay = _backoff(attempt) if hint.retry_after is None else hint.retry_after
                ready = time.monotonic() + delay
            if ready > deadline:
                raise self._gave_up(error or TransientAPIError(where), attempt)
            with self._stats_lock:
                self.stats.retries += 1
            if delay > 0:
                time.sleep(delay)

    def _exchange(
        self,
        method: str,
        url: str,
        where: str,
        params: Mapping[str, str] | None,
        data: bytes | None,
        seconds: float,
    ) -> tuple[requests.Response | None, TransientAPIError | None]:
        """One attempt, ended by the watchdog after `seconds`: the answer, or the transient failure it met."""
        watch = self._watchdog.arm(seconds)
        response = None
        try:
            with watching(watch):
                response = self._session.request(
                    method, url, params=params, data=data, timeout=self._timeout, allow_redirects=False
                )
        except requests.Timeout:
            failure = f"{where}: no answer from Twenty in time"
        except requests.ConnectionError as exc:
            failure = f"{where}: connection to Twenty failed ({_reason(exc)})"
        except requests.RequestException as exc:
            # A body cut short (ChunkedEncodingError), badly compressed (ContentDecodingError) or any other
            # transport failure says nothing about the data: retry it like a dropped connection.
            failure = f"{where}: the answer from Twenty was broken ({type(exc).__name__})"
        else:
            failure = None
        finally:
            self._watchdog.disarm(watch)
        if watch.expired:
            # Whatever the closed socket produced (an error, or a body cut short that looks complete), the
            # answer did not arrive in time.
            return None, TransientAPIError(
                f"{where}: no answer from Twenty in time (the whole answer must come within {seconds:.3g} s)"
            )
        if failure is not None:
            return None, TransientAPIError(failure)
        return response, None

    def _raise_if_winding_down(self, where: str) -> None:
        """After a 429 (nothing stored): a stopping sync does not try the call again."""
        if self._winding_down is not None and self._winding_down.is_set():
            raise RequestCancelled(f"{where}: rate limited and not retried, the sync is stopping")

    def _gave_up(self, error: TransientAPIError, attempts: int) -> TransientAPIError:
        return TransientAPIError(
            f"{error.message} (gave up after {attempts} attempts within the {self._retry_seconds:.0f} s retry "
            "budget)",
            status=error.status,
            code=error.code,
        )

    def _classify(self, method: str, path: str, response: requests.Response) -> TwentyAPIError:
        status = response.status_code
        message, code = _error_text(response)
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
        if status in _VERDICT_STATUS and _is_twenty_error_body(response) and not _is_throttled(response):
            # Twenty's own verdict on the data sent: the writer isolates the record(s) at fault.
            return DataError(message, status=status, code=code)
        # Everything else (429, 5xx, a proxy's 408/425/507/520-524, an HTML page from a load balancer) is an
        # outage, not a judgement on the record: retried within the budget, then a transient_error.
        if status != 429 and _is_throttled(response):
            return TransientAPIError(
                f"{where}: rate limited by Twenty's GraphQL and metadata limiter ({status}: {message})",
                status=status,
                code=code,
            )
        return TransientAPIError(f"{where}: Twenty answered {status}: {message}", status=status, code=code)


def _is_throttled(response: requests.Response) -> bool:
    """A 429, or the v1.3 metadata limiter's 400 "Too many requests." (nothing was done; try again later)."""
    if response.status_code == 429:
        return True
    if response.status_code != 400 or len(response.content) > 200:
        return False
    message, _ = _error_text(response)
    return message.strip().lower() == _TOO_MANY_REQUESTS


def _is_twenty_error_body(response: requests.Response) -> bool:
    """Twenty's errors are JSON objects with `messages` (or the framework's singular `message`) and `error`;
    a proxy's HTML page or an empty body is not Twenty speaking."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and ("messages" in body or "message" in body)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise TwentyAPIError(f"Twenty answered {response.status_code} with a body that is not JSON") from exc
    if not isinstance(body, dict):
        raise TwentyAPIError(f"Twenty answered {response.status_code} with an unexpected JSON body")
    return body


def _error_text(response: requests.Response) -> tuple[str, str | None]:
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


# Only what the connector reads: each relation field's target (a MORPH_RELATION lists its group's targets).
_TARGET = "type targetObjectMetadata { nameSingular namePlural }"
_RELATIONS_QUERY = (
    "query ConnectorRelationTargets($after: ConnectionCursor) { objects(paging: {first: 1000, after: $after}) "
    "{ pageInfo { hasNextPage endCursor } edges { node { nameSingular namePlural "
    "fields(paging: {first: 1000}) { edges { node { name type "
    f"relation {{ {_TARGET} }} morphRelations {{ {_TARGET} }} }} }} }} }} }} }} }}"
)


def _metadata_objects(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    objects = data.get("objects") if isinstance(data, dict) else data
    if not isinstance(objects, list):
        raise TwentyAPIError("Twenty's metadata answer has no list of objects.")
    return list(objects)


def _list_payload(body: Mapping[str, Any], plural: str) -> list[Any]:
    data = body.get("data")
    if isinstance(data, dict):
        rows = data.get(plural)
        if isinstance(rows, list):
            return rows
    return []


_PERIOD_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


def _rate_limit_hint(response: requests.Response) -> RateLimitHint:
    """When to try again and the server's own limit, from whatever the answer carries: `Retry-After` (seconds
    or an HTTP date), newer Twenty's body (`retryAfterSeconds`; `limit` per `periodCount` `periodUnit`s) and
    `X-RateLimit-Limit` / `X-RateLimit-Reset` (unix seconds)."""
    headers = response.headers
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    body = body if isinstance(body, dict) else {}
    wait = _retry_after_header(headers.get("Retry-After"))
    if wait is None:
        wait = _number(body.get("retryAfterSeconds"))
    if wait is None:
        reset = _number(headers.get("X-RateLimit-Reset"))
        wait = None if reset is None else reset - time.time()
    limit = _number(body.get("limit"))
    if limit is None:
        limit = _number(headers.get("X-RateLimit-Limit"))
    count = _number(body.get("periodCount"))
    unit = _PERIOD_SECONDS.get(str(body.get("periodUnit", "")).lower().rstrip("s"))
    per_minute = (
        limit * 60.0 / (count * unit) if limit and count and unit and limit > 0 and count > 0 else None
    )
    return RateLimitHint(
        retry_after=None if wait is None else min(max(wait, 0.0), Pacer.MAX_PAUSE), per_minute=per_minute
    )


def _retry_after_header(value: str | None) -> float | None:
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() - time.time()


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a header string; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _backoff(attempt: int) -> float:
    """Exponential backoff with equal jitter: a random wait between half and all of 0.5 s, 1 s, 2 s … (capped at
    30 s), so a retry never comes sooner than half the step (full jitter's waits near zero would let every
    thread hammer a struggling server) and threads that failed together do not retry together."""
    return random.uniform(0.5, 1.0) * min(30.0, 0.5 * 2 ** (attempt - 1))


def _reason(exc: Exception) -> str:
    """A short, key-free description of a connection failure."""
    text = str(exc)
    for hint in (
        "Connection refused",
        "Connection reset",
        "RemoteDisconnected",
        "Name or service not known",
        "timed out",
        "Connection aborted",
        "certificate verify failed",
    ):
        if hint in text:
            return hint
    return type(exc).__name__
