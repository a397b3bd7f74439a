"""HTTP routing: the /rest API, /healthz, and the /_emulator inspection door.

Request pipeline for /rest/ (mirrors where the real server does each step):
fault injection (a proxy in front) -> JSON body parsing (body-parser, before auth) -> auth middleware ->
path parsing (unknown object, bad UUID: no token spent) -> throttler (record API only) -> handler.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .clock import now_iso
from .errors import ApiError, bad_request
from .faults import FaultInjector
from .field_limit import REST_ANSWER as FIELD_LIMIT_REST_ANSWER
from .field_limit import FieldLimiter
from .field_limit import graphql_answer as field_limit_graphql_answer
from .filters import encode_cursor, parse_list_query
from .graphql import GraphQL
from .jsonerrors import body_parser_error
from .metadata_api import MetadataGraphQL, paged_by_id
from .records import Records
from .schema import Workspace
from .store import Store
from .throttle import Throttle, graphql_rate_limited, rate_limited
from .validation import UUID_RE
from .versions import CURRENT, TwentyVersion

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
JSON_TYPE = "application/json; charset=utf-8"
WORKSPACE_MEMBER = {
    "id": "20202020-0687-4c41-b707-ed1bfca972a7",
    "name": {"firstName": "Tim", "lastName": "Apple"},
    "userEmail": "tim@apple.dev",
    "userId": "20202020-9e3b-46d4-a556-88b9ddc2b034",
    "locale": "en",
    "colorScheme": "System",
    "timeZone": "system",
}
DEMO_COMPANIES = [
    {"name": "Airbnb", "domainName": {"primaryLinkUrl": "https://airbnb.com"}, "employees": 5000},
    {"name": "Qonto", "domainName": {"primaryLinkUrl": "https://qonto.com"}, "employees": 800},
    {"name": "Stripe", "domainName": {"primaryLinkUrl": "https://stripe.com"}, "employees": 7000},
]
DEMO_PEOPLE = [
    {
        "name": {"firstName": "Christoph", "lastName": "Callisto"},
        "emails": {"primaryEmail": "christoph@airbnb.com"},
    },
    {"name": {"firstName": "Sylvie", "lastName": "Palmer"}, "emails": {"primaryEmail": "sylvie@qonto.com"}},
    {
        "name": {"firstName": "Christopher", "lastName": "Gonzalez"},
        "emails": {"primaryEmail": "chris@stripe.com"},
    },
    {"name": {"firstName": "Ashley", "lastName": "Parker"}, "emails": {"primaryEmail": "ashley@stripe.com"}},
]


@dataclass
class Config:
    api_key: str
    api_key_name: str = "emulator-key"
    db: str = ":memory:"
    max_batch: int | None = None  # None: the version's maximum
    max_body_bytes: int = 10 * 1024 * 1024  # body-parser's '10mb' limit in Twenty v1.x
    rate_limit: tuple[int, int] | None = (100, 60000)
    field_limit: tuple[int, int] | None = (100, 100_000)  # v1.3's per-field limiter (field_limit.py)
    retry_after: bool = False
    faults: str | None = None
    fault_seed: int | None = None
    timeout_hold_seconds: float = 30.0
    demo_data: bool = False
    verbose: bool = False
    version: TwentyVersion = CURRENT
    extra: dict = field(default_factory=dict)


class Emulator:
    """All state of one emulated workspace; the HTTP handler only routes into it."""

    def __init__(self, config: Config):
        self.config = config
        self.version = config.version
        self.max_batch = config.version.max_batch if config.max_batch is None else config.max_batch
        self.store = Store(config.db)
        self.throttle = Throttle(*config.rate_limit) if config.rate_limit else None
        self.field_limiter = (
            FieldLimiter(*config.field_limit) if config.field_limit and config.version.field_limiter else None
        )
        self.faults = FaultInjector(config.faults, config.fault_seed)
        self.log: list[dict] = []
        self.log_lock = threading.Lock()
        # The emulator's own crashes (answered as a generic 500, which a client retries as transient): kept so
        # a test can fail on them (GET /_emulator/errors; twenty_emulator.testing checks it on exit).
        self.internal_errors: list[str] = []
        self._fresh_workspace()

    @property
    def api_key_id(self) -> str:
        """A stable id for the one API key, shown where newer Twenty names the spender (never the key)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "twenty-emulator/api-key/" + self.config.api_key_name))

    def _fresh_workspace(self) -> None:
        self.workspace = Workspace(self.version)
        self.records = Records(
            self.workspace, self.store, self.config.api_key_name, self.max_batch, self.version
        )
        self.graphql = GraphQL(
            self.workspace,
            self.records,
            self.version.graphql_answer_max,
            creates=self.version.graphql,
            queries=self.version.graphql_queries,
        )
        self.metadata_graphql = MetadataGraphQL(self.workspace)
        for obj in self.workspace.objects.values():
            self.store.ensure_table(obj)
        # A --db file keeps its standard-object records across restarts; in memory every start is empty.
        self._seed()

    def _seed(self) -> None:
        """The workspace member, plus demo data if asked (one record per call: --max-batch may be tiny)."""
        create = self.records.create_many
        create(self.workspace.objects["workspaceMember"], [WORKSPACE_MEMBER], upsert=True)
        if self.config.demo_data:
            companies = [
                create(self.workspace.by_plural["companies"], [c], upsert=True)[0] for c in DEMO_COMPANIES
            ]
            for i, person in enumerate(DEMO_PEOPLE):
                body = dict(person, companyId=companies[i % len(companies)]["id"])
                create(self.workspace.by_plural["people"], [body], upsert=True)

    def reset(self, metadata: bool) -> None:
        with self.store.lock:
            self.store.drop_all_rows()
            if metadata:
                self._fresh_workspace()
            else:
                self._seed()
        with self.log_lock:
            self.log.clear()
            self.internal_errors.clear()
        if self.throttle:
            self.throttle.reset()
        if self.field_limiter:
            self.field_limiter.reset()
        self.faults.reset()

    def internal_error(self, where: str) -> None:
        """Record the exception being handled (with its traceback) and print it to stderr."""
        text = f"twenty-emulator: internal error in {where}:\n{traceback.format_exc()}"
        print(text, file=sys.stderr, flush=True)
        with self.log_lock:
            if len(self.internal_errors) < 100:
                self.internal_errors.append(text)

    def add_log(self, entry: dict) -> None:
        with self.log_lock:
            self.log.append(entry)
        if self.config.verbose:
            print(
                f"{entry['method']} {entry['path']} -> {entry['status']}"
                + (f" fault={entry['fault']}" if entry["fault"] else ""),
                file=sys.stderr,
                flush=True,
            )


def _record_count(body) -> int:
    if isinstance(body, list):
        return len(body)
    return 1 if isinstance(body, dict) else 0


def _is_query(raw: bytes) -> bool:
    """Is this GraphQL body a query (`query …` or a bare `{ … }`), not a mutation?"""
    try:
        query = json.loads(raw or b"{}").get("query")
    except (ValueError, AttributeError):
        return False
    return isinstance(query, str) and re.match(r"\s*(query\b|\{)", query) is not None


def _root_field(raw: bytes) -> str:
    """The first root field of a GraphQL body (createPeople), the name the per-field limiter counts calls of."""
    try:
        query = json.loads(raw or b"{}").get("query")
    except (ValueError, AttributeError):
        query = None
    match = re.search(r"\{\s*(?:\w+\s*:\s*)?(\w+)", query) if isinstance(query, str) else None
    return match.group(1) if match else "graphql"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    # TCP_NODELAY, as Node's http server sets by default: with Nagle on, the body (a second small write after the
    # headers) waits for the client's delayed ACK, about 40 ms on every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "twenty-emulator"
    sys_version = ""
    emulator: Emulator  # set on the subclass built by make_server

    # Quiet by default; --verbose logs one line per request from add_log instead.
    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    # ----------------------------------------------------------------- plumbing
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self, status: int, payload, *, content_type: str = JSON_TYPE, headers: dict | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else _dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_truncated(self, status: int, payload, headers: dict | None) -> None:
        """Promise the whole body in Content-Length, send half of it, then close (a FIN, not a reset)."""
        data = _dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _abort_connection(self) -> None:
        """Drop the TCP connection with a reset, without an HTTP answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _handle(self, method: str) -> None:
        emu = self.emulator
        url = urlsplit(self.path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        entry = {
            "n": None,
            "time": now_iso(),
            "method": method,
            "path": path,
            "query": query,
            "status": None,
            "records": 0,
            "fault": None,
        }
        # A version that serves /graphql numbers and spoils it like /rest/ (a proxy does not tell them apart).
        is_rest = (
            path == "/rest"
            or path.startswith("/rest/")
            or (path == "/graphql" and (emu.version.graphql or emu.version.graphql_deletes))
            or (path == "/metadata" and emu.version.metadata_graphql)
        )
        if path.startswith("/_emulator/"):
            self._inspection(method, path, query)
            return
        if is_rest:
            decision = emu.faults.next()
            entry["n"] = decision.number
            if decision.latency_ms:
                time.sleep(decision.latency_ms / 1000)
            entry["fault"] = decision.kind
            if decision.kind in ("reset", "timeout"):
                if decision.kind == "timeout":
                    time.sleep(emu.config.timeout_hold_seconds)
                self._abort_connection()
                emu.add_log(entry)
                return
            if decision.kind in ("500", "502", "503", "429"):
                self._read_body()
                status, body, ctype, headers = self._fault_response(decision.kind)
                if decision.kind == "429" and path == "/graphql":  # the throttler answers GraphQL with a 200
                    throttle = emu.throttle
                    status, body, headers = (
                        200,
                        self._graphql_rate_limited(throttle.long if throttle else None),
                        None,
                    )
                # Logged before the answer leaves: a client that reads the log right after must find it.
                entry["status"] = status
                emu.add_log(entry)
                self._send(status, body, content_type=ctype, headers=headers)
                return
        if int(self.headers.get("Content-Length") or 0) > emu.config.max_body_bytes:
            # Express's body-parser refuses the body before Twenty sees it (exact real body unconfirmed).
            self._read_body()
            entry["status"] = 413
            emu.add_log(entry)
            self._send(
                413,
                {
                    "statusCode": 413,
                    "error": "PayloadTooLargeError",
                    "messages": ["request entity too large"],
                },
            )
            return
        raw = self._read_body()
        try:
            if entry["fault"] == "crash":  # plays a bug of the emulator's own, to test that tests see one
                raise RuntimeError("injected crash (--faults crash)")
            status, payload, headers = self._route(method, path, query, raw, url.query, entry)
        except ApiError as exc:
            status, payload, headers = exc.status, exc.body(), getattr(exc, "headers", None)
        except Exception:  # a bug in the emulator: answer like the real server's generic 500
            emu.internal_error(f"{method} {path}")
            status, payload, headers = (
                500,
                {
                    "statusCode": 500,
                    "error": "InternalServerErrorException",
                    "messages": ["Internal server error"],
                },
                None,
            )
        if entry["fault"] != "commit-reset":
            entry["status"] = status
        emu.add_log(entry)  # before the answer leaves, as above
        if entry["fault"] == "commit-reset":
            self._abort_connection()  # the write happened; the client never hears about it
        elif entry["fault"] == "truncate":
            self._send_truncated(status, payload, headers)  # the write happened; the answer is cut short
        else:
            self._send(status, payload, headers=headers)

    def _fault_response(self, kind: str):
        if kind == "500":
            body = {
                "statusCode": 500,
                "error": "InternalServerErrorException",
                "messages": ["Internal server error"],
            }
            return 500, body, JSON_TYPE, None
        if kind == "502":
            html = (
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            )
            return 502, html.encode(), "text/html", None
        if kind == "503":
            return (
                503,
                b"upstream connect error or disconnect/reset before headers. reset reason: overflow",
                "text/plain",
                None,
            )
        throttle = self.emulator.throttle
        body, headers = self._rate_limited(throttle.long if throttle else None)
        return 429, body, JSON_TYPE, headers

    def _graphql_rate_limited(self, bucket) -> dict:
        emu = self.emulator
        return graphql_rate_limited(
            bucket, usage_limit=emu.version.usage_limit_429, spender_id=emu.api_key_id
        )

    def _rate_limited(self, bucket) -> tuple[dict, dict | None]:
        emu = self.emulator
        return rate_limited(
            bucket,
            usage_limit=emu.version.usage_limit_429,
            headers=emu.config.retry_after,
            spender_id=emu.api_key_id,
        )

    # ----------------------------------------------------------------- inspection door
    def _inspection(self, method: str, path: str, query: dict) -> None:
        emu = self.emulator
        self._read_body()
        parts = [p for p in path.split("/") if p][1:]
        if method == "GET" and len(parts) == 2 and parts[0] == "records":
            obj = emu.workspace.by_plural.get(parts[1])
            if obj is None:
                self._send(404, {"error": f"unknown object {parts[1]}"})
                return
            records = [json.loads(t) for t in emu.store.all_records(obj)]
            if query.get("include_deleted", "true").lower() == "false":
                records = [r for r in records if not r.get("deletedAt")]
            self._send(200, {"records": records})
        elif method == "GET" and parts == ["requests"]:
            with emu.log_lock:
                self._send(200, {"requests": list(emu.log)})
        elif method == "GET" and parts == ["errors"]:
            with emu.log_lock:
                self._send(200, {"errors": list(emu.internal_errors)})
        elif method == "POST" and parts == ["reset"]:
            emu.reset(metadata=query.get("metadata", "").lower() in ("1", "true", "fresh"))
            self._send(200, {"status": "reset"})
        else:
            self._send(404, {"error": "unknown inspection endpoint"})

    # ----------------------------------------------------------------- /rest routing
    def _route(self, method: str, path: str, query: dict, raw: bytes, raw_query: str, entry: dict):
        if path == "/healthz" and method == "GET":
            return 200, {"status": "ok", "info": {}, "error": {}, "details": {}}, None
        if (
            path == "/graphql"
            and method == "POST"
            and (
                self.emulator.version.graphql
                or (self.emulator.version.graphql_deletes and _root_field(raw).startswith("delete"))
                or (self.emulator.version.graphql_queries and _is_query(raw))
            )
        ):
            # A mode without the create mutations plays a /graphql of deletes only: anything else is a 404 there
            # (a simplification: the real server answers its whole schema).
            return self._graphql(raw, entry)
        if path == "/metadata" and method == "POST" and self.emulator.version.metadata_graphql:
            return self._metadata_graphql(raw)
        if not (path == "/rest" or path.startswith("/rest/")):
            return 404, {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"}, None

        body = None
        if raw.strip():
            text = raw.decode("utf-8", errors="replace")
            # body-parser in strict mode: only an object or an array is a body; anything else, `null` included,
            # is a 400 in Node's words (jsonerrors.py), before authentication, and nothing is written.
            message = body_parser_error(text)
            if message is not None:
                return 400, {"message": message, "error": "Bad Request", "statusCode": 400}, None
            body = json.loads(text)
        entry["records"] = _record_count(body)

        self._authenticate()
        segments = [s for s in path[len("/rest") :].split("/") if s]
        if segments[:1] == ["metadata"]:
            limiter = self.emulator.field_limiter
            if limiter is not None and limiter.refuses("metadata:" + "/".join(segments[1:2])):
                return 400, dict(FIELD_LIMIT_REST_ANSWER), None
            return self._metadata(method, segments[1:], body, raw_query, path)
        return self._records(method, segments, query, body, path)

    def _graphql(self, raw: bytes, entry: dict):
        """POST /graphql: errors are answered 200 with an ``errors`` list, auth errors included
        (middleware.service.ts writeGraphqlResponseOnExceptionCaught)."""
        entry["root_field"] = _root_field(raw)  # in the request log: tells queries from mutations
        try:
            self._authenticate()
        except ApiError as exc:
            code = "UNAUTHENTICATED" if exc.status == 401 else "FORBIDDEN"
            message = exc.body()["messages"][0]
            return 200, {"errors": [{"message": message, "extensions": {"code": code}}]}, None
        throttle = self.emulator.throttle
        refused = throttle.check() if throttle is not None else None
        if refused is not None:  # /graphql is throttled in every version that serves it (a token per request)
            return 200, self._graphql_rate_limited(refused), None
        limiter = self.emulator.field_limiter
        if limiter is not None:
            field = _root_field(raw)
            if limiter.refuses("graphql:" + field):
                return 200, field_limit_graphql_answer(field), None
        status, payload, records = self.emulator.graphql.execute(raw)
        entry["records"] = records
        return status, payload, None

    def _metadata_graphql(self, raw: bytes):
        """POST /metadata (v2): the GraphQL metadata API. Not throttled: the v2 line's throttler runs in the
        record query runners only (common-base-query-runner.service.ts throttleQueryExecution)."""
        try:
            self._authenticate()
        except ApiError:
            # As seen on the v2 server, for any wrong token (the REST API says "No payload" for a non-JWT).
            error = {
                "message": "Token invalid.",
                "extensions": {
                    "userFriendlyMessage": {
                        "id": "z+7x/s",
                        "message": "You must be authenticated to perform this action.",
                    },
                    "subCode": "UNAUTHENTICATED",
                    "code": "UNAUTHENTICATED",
                },
            }
            return 200, {"errors": [error]}, None
        with self.emulator.store.lock:
            status, payload = self.emulator.metadata_graphql.execute(raw)
        return status, payload, None

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer ") or not header[len("Bearer ") :].strip():
            raise ApiError(
                403,
                "FORBIDDEN_EXCEPTION",
                "",
                body={
                    "statusCode": 403,
                    "messages": ["Missing authentication token"],
                    "error": "FORBIDDEN_EXCEPTION",
                },
            )
        token = header[len("Bearer ") :].strip()
        if token != self.emulator.config.api_key:
            message = "Token invalid." if token.count(".") == 2 else "No payload"
            raise ApiError(
                401,
                "UNAUTHENTICATED",
                message,
                body={"statusCode": 401, "messages": [message], "error": "UNAUTHENTICATED"},
            )

    def _throttle(self) -> None:
        throttle = self.emulator.throttle
        if throttle is None or not self.emulator.version.rest_throttled:
            return
        refused = throttle.check()
        if refused is not None:
            body, headers = self._rate_limited(refused)
            exc = ApiError(429, body["error"], body["messages"][0], body=body)
            exc.headers = headers
            raise exc

    def _records(self, method: str, segments: list[str], query: dict, body, path: str):
        emu = self.emulator
        invalid_path = bad_request(
            f"Query path '{path}' invalid. Valid examples: /rest/companies/id or /rest/companies "
            "or /rest/batch/companies or /rest/restore/companies/id"
        )
        if not segments:
            raise invalid_path
        if segments[0] == "batch":
            if len(segments) != 2 or method != "POST":
                raise invalid_path
            obj = emu.workspace.resolve_plural(segments[1])
            self._throttle()
            if emu.version.legacy_errors and not isinstance(body, list):
                raise bad_request("Body must be an array")  # rest-api-create-many.handler.ts handle()
            if emu.version.legacy_errors and not body:
                raise bad_request("Input must not be empty")
            if not isinstance(body, list):
                raise ApiError(400, "TypeError", "data.map is not a function")
            upsert = query.get("upsert") == "true" and emu.version.rest_upsert
            records = emu.records.create_many(obj, body, upsert=upsert)
            return 201, {"data": {f"create{obj.namePlural[0].upper()}{obj.namePlural[1:]}": records}}, None
        if segments[0] == "restore":
            if len(segments) != 3 or method != "PATCH":
                raise invalid_path
            obj = emu.workspace.resolve_plural(segments[1])
            record_id = self._path_id(segments[2])
            self._throttle()
            record = emu.records.restore_one(obj, record_id)
            return 200, {"data": {f"restore{_cap(obj.nameSingular)}": record}}, None
        if len(segments) > 2:
            raise invalid_path
        obj = emu.workspace.resolve_plural(segments[0])
        record_id = self._path_id(segments[1]) if len(segments) == 2 else None
        if method == "GET":
            if record_id is None:
                list_query = parse_list_query(
                    obj,
                    query,
                    default_limit=emu.version.default_page,
                    max_limit=emu.version.max_page,
                    composite_cursor=emu.version.composite_cursor,
                )
                self._throttle()
                return 200, emu.records.find_many(obj, list_query), None
            self._throttle()
            return 200, {"data": {obj.nameSingular: emu.records.get_one(obj, record_id)}}, None
        if method == "POST" and record_id is None:
            self._throttle()
            upsert = query.get("upsert") == "true" and emu.version.rest_upsert
            record = emu.records.create_many(obj, [body], upsert=upsert)[0]
            return 201, {"data": {f"create{_cap(obj.nameSingular)}": record}}, None
        if method in ("PATCH", "PUT") and record_id is not None:
            self._throttle()
            return (
                200,
                {"data": {f"update{_cap(obj.nameSingular)}": emu.records.update_one(obj, record_id, body)}},
                None,
            )
        if method == "DELETE" and record_id is not None:
            self._throttle()
            soft = query.get("soft_delete") == "true" and not emu.version.rest_delete_destroys
            deleted = emu.records.delete_one(obj, record_id, soft=soft)
            if emu.version.rest_delete_destroys:
                deleted = {"id": deleted["id"]}  # the v1.3 handler answers the id alone (recorded)
            return 200, {"data": {f"delete{_cap(obj.nameSingular)}": deleted}}, None
        if method == "DELETE":
            raise bad_request(
                "Filters are mandatory for bulk delete operations"
                if not query.get("filter")
                else "Bulk delete is not supported by the emulator"
            )
        if method in ("PATCH", "PUT"):
            raise bad_request("Bulk update is not supported by the emulator")
        raise invalid_path

    @staticmethod
    def _path_id(segment: str) -> str:
        if not UUID_RE.match(segment):
            raise bad_request(f"'{segment}' is not a valid UUID")
        return segment.lower()

    # ----------------------------------------------------------------- metadata
    def _metadata(self, method: str, segments: list[str], body, raw_query: str, path: str):
        emu = self.emulator
        ws = emu.workspace
        if raw_query and not (emu.version.paged_metadata and method == "GET" and len(segments) == 1):
            # Upstream reads the query string as part of the metadata path, so any query is a bad path.
            raise bad_request(
                f"Query path '{path}?{raw_query}' invalid. Valid examples: /rest/metadata/fields "
                "or /rest/metadata/objects/id"
            )
        if not segments or segments[0] not in ("objects", "fields") or len(segments) > 2:
            raise bad_request(
                f"Query path '{path}' invalid. Valid examples: /rest/metadata/fields or /rest/metadata/objects/id"
            )
        kind = segments[0]
        item_id = segments[1] if len(segments) == 2 else None
        if method == "GET":
            with emu.store.lock:
                if kind == "objects":
                    items = [ws.object_to_api(o) for o in ws.objects.values()]
                else:
                    items = [ws.field_to_api(o, f) for o in ws.objects.values() for f in o.fields.values()]
            if item_id is not None:
                match = next((i for i in items if i["id"] == item_id), None)
                if match is None:
                    raise ApiError(404, "NotFoundException", f"{kind[:-1].capitalize()} not found")
                return 200, {"data": {kind[:-1]: match}}, None
            if emu.version.paged_metadata:
                return 200, paged_by_id(items, dict(parse_qsl(raw_query, keep_blank_values=True))), None
            page_info = {
                "hasNextPage": False,
                "startCursor": encode_cursor(items[0]["id"]) if items else None,
                "endCursor": encode_cursor(items[-1]["id"]) if items else None,
            }
            return 200, {"data": {kind: items}, "pageInfo": page_info}, None
        if method == "POST" and item_id is None:
            with emu.store.lock:
                if kind == "objects":
                    obj = ws.create_object(body)
                    emu.store.ensure_table(obj)
                    for name in ("noteTarget", "taskTarget", "favorite"):
                        column = ws.junction_column(name, obj.nameSingular)
                        emu.records.backfill_key(ws.objects[name], column, None)
                    return 201, {"data": {"createOneObject": ws.object_to_api(obj)}}, None
                obj, f = ws.create_field(body)
                emu.store.ensure_table(obj)
                emu.records.backfill_key(obj, f.name, f.record_default())
                return 201, {"data": {"createOneField": ws.field_to_api(obj, f)}}, None
        raise bad_request(f"Method {method} on /rest/metadata/{kind} is not supported by the emulator")


def _cap(name: str) -> str:
    return name[0].upper() + name[1:]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: Emulator

    def handle_error(self, request, client_address) -> None:  # noqa: ARG002 - socketserver's signature
        """A crash outside the routed handler (the inspection door, a broken connection's bookkeeping)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client that went away (a test's dropped connection) is not the emulator's bug
        self.emulator.internal_error("a request handler")


def make_server(host: str, port: int, config: Config) -> Server:
    emulator = Emulator(config)
    handler = type("BoundHandler", (Handler,), {"emulator": emulator})
    server = Server((host, port), handler)
    server.emulator = emulator
    return server
