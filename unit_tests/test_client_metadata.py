"""The client reads every page of the metadata listing, in either shape the v2 line answers: `{"data": [...]}`
and, for a workspace without the new-format flag, the legacy `{"data": {"objects": [...]}}`, both paged
(object-metadata.controller.ts findMany and to-legacy-object-metadata-response.util.ts of the v2 snapshot).
A small fake server plays it; the emulator plays only the new shape."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from destination_twenty.config import TwentyConfig
from destination_twenty.twenty.client import TwentyClient

OBJECTS = [
    {"id": f"{n:08d}-0000-4000-8000-000000000000", "namePlural": f"things{n}"} for n in range(5, 0, -1)
]


def serve(legacy: bool, seen: list[str]):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlsplit(self.path)
            seen.append(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            after = query.get("starting_after")
            rest = [o for o in OBJECTS if not after or o["id"] < after]
            page = rest[: int(query.get("limit", 2))]
            body = {
                "data": {"objects": page} if legacy else page,
                "pageInfo": {"hasNextPage": len(rest) > len(page), "endCursor": page[-1]["id"]},
                "totalCount": len(OBJECTS),
            }
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("legacy", [False, True])
def test_every_page_of_the_listing_is_read(legacy):
    seen: list[str] = []
    server = serve(legacy, seen)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = TwentyConfig.from_mapping({"api_key": "k" * 20, "api_url": url, "mode": "people"})
        client = TwentyClient(config, retry_seconds=5, timeout=(2, 5))
        names = [o["namePlural"] for o in client.metadata_objects()]
        client.close()
    finally:
        server.shutdown()
    assert names == [o["namePlural"] for o in OBJECTS]
    assert seen[0] == "/rest/metadata/objects"  # older servers refuse any query string on the first read
    assert len(seen) == 2 and "limit=200" in seen[1] and "starting_after=" in seen[1]
