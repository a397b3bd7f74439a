"""Command line: ``python -m twenty_emulator --host 127.0.0.1 --port 0 --api-key KEY [options]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace

from .faults import parse_faults
from .server import Config, make_server
from .throttle import parse_rate_limit
from .versions import VERSIONS, get_version


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m twenty_emulator",
        description="A local emulator of the Twenty CRM REST API (upstream main, Jan 2026). "
        "Every start is a fresh workspace: the standard objects, one workspace member, no records.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=3000, help="port to listen on; 0 picks a free one (default 3000)"
    )
    p.add_argument(
        "--api-key", required=True, help="the only valid token: clients send 'Authorization: Bearer KEY'"
    )
    p.add_argument(
        "--api-key-name", default="emulator-key", help="API key name shown in createdBy/updatedBy.name"
    )
    p.add_argument("--db", default=":memory:", help="SQLite file to keep the data in (default: in memory)")
    p.add_argument(
        "--twenty-version",
        choices=list(VERSIONS),
        default="current",
        help="answer as this Twenty does: current (upstream main of Jan 2026, as recorded; the default), "
        "v1.3 (Aug 2025: REST ignores upsert, older errors, no REST rate limit, /graphql upserts) or v1.20 "
        "(RICH_TEXT, targetPersonId join columns, Retry-After and X-RateLimit-* on 429s, 10000-record maxima) "
        "or v2 (the v2 line, about v2.19: paged REST metadata whose relations name no target, the GraphQL "
        "metadata API on /metadata, MORPH note/task targets, every record call throttled with no headers)",
    )
    p.add_argument(
        "--max-batch",
        type=int,
        default=None,
        help="records per batch call (default: the version's, 200 as recorded, 10000 for v1.20)",
    )
    p.add_argument(
        "--max-body-mb",
        type=float,
        default=10.0,
        help="largest JSON request body in MB before a 413 (default 10, Twenty v1.x's body-parser limit)",
    )
    p.add_argument(
        "--rate-limit",
        default="100/60",
        help="long token bucket as N/SECONDS, or 'off' (default 100/60); the short bucket 100/1 always applies",
    )
    p.add_argument(
        "--field-limit",
        default="100/100",
        help="v1.3 only: graphql-rate-limit on /graphql and metadata (REST too) as N/SECONDS per field, or "
        "'off' (default 100/100, API_RATE_LIMITING_LIMIT/TTL as the rig sets them); refused calls count too",
    )
    p.add_argument(
        "--no-graphql-queries",
        action="store_true",
        help="answer GraphQL record queries (<plural>(filter) { edges }) 404, as behind a proxy forwarding only /rest",
    )
    p.add_argument(
        "--retry-after",
        action="store_true",
        help="add Retry-After and X-RateLimit-* headers to 429s, like newer Twenty (off by default, as recorded)",
    )
    p.add_argument(
        "--faults",
        default=None,
        help="comma list of KIND:PROBABILITY or KIND@N;M (1-based /rest/ request numbers); KIND is 500, 502, "
        "503, 429, timeout, reset, commit-reset, truncate or latency=MS",
    )
    p.add_argument(
        "--fault-seed", type=int, default=None, help="seed for probabilistic faults (repeatable runs)"
    )
    p.add_argument("--timeout-hold-seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    p.add_argument("--demo-data", action="store_true", help="start with a few demo companies and people")
    p.add_argument("--quiet", action="store_true", help="no per-request logging (the default)")
    p.add_argument("--verbose", action="store_true", help="log one line per request to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rate_limit = parse_rate_limit(args.rate_limit)
        field_limit = parse_rate_limit(args.field_limit)
        parse_faults(args.faults)
    except ValueError as exc:
        print(f"twenty-emulator: {exc}", file=sys.stderr)
        return 2
    config = Config(
        api_key=args.api_key,
        api_key_name=args.api_key_name,
        db=args.db,
        max_batch=args.max_batch,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        rate_limit=rate_limit,
        field_limit=field_limit,
        retry_after=args.retry_after,
        version=replace(get_version(args.twenty_version), graphql_queries=not args.no_graphql_queries),
        faults=args.faults,
        fault_seed=args.fault_seed,
        timeout_hold_seconds=args.timeout_hold_seconds,
        demo_data=args.demo_data,
        verbose=args.verbose and not args.quiet,
    )
    server = make_server(args.host, args.port, config)
    host, port = server.server_address[:2]

    def stop(signum, frame):
        # shutdown() blocks until serve_forever returns, so call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"twenty-emulator listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
