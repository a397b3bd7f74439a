"""One PyAirbyte sync: source-faker's `users` stream into destination-twenty, both as local executables.

Runs under the PyAirbyte virtualenv (.venv-pyairbyte), never the project's: PyAirbyte, faker and the connector
each pin an airbyte-cdk the others cannot share, so each runs from its own environment, as PyAirbyte intends.
Configs come as JSON files (the destination's holds the API key, which must not appear on a command line).
Prints one JSON line, prefixed RESULT:, with what PyAirbyte reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Set before PyAirbyte is imported: it reads them at import time. Offline mode keeps it from asking Airbyte's
# connector registry about names it cannot know ("destination-twenty"); the others keep it quiet and local.
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRBYTE_NO_UV", "1")

import airbyte as ab  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faker", required=True, help="the source-faker executable (its own virtualenv)")
    parser.add_argument("--faker-config", required=True, type=Path)
    parser.add_argument("--destination", required=True, help="the destination-twenty console script")
    parser.add_argument("--destination-config", required=True, type=Path)
    parser.add_argument("--write-strategy", default="merge")
    args = parser.parse_args(argv)

    source = ab.get_source(
        "source-faker",
        config=json.loads(args.faker_config.read_text()),
        local_executable=args.faker,
        streams=["users"],
    )
    destination = ab.get_destination(
        "destination-twenty",
        config=json.loads(args.destination_config.read_text()),
        local_executable=args.destination,
    )
    destination.check()
    result = destination.write(
        source,
        cache=False,  # stream straight from the source into the destination, no DuckDB in between
        state_cache=False,  # each run is a full read: the second sync re-sends ids 1..N, as issue 10 saw
        write_strategy=args.write_strategy,
    )
    print("RESULT:" + json.dumps({"processed_records": result.processed_records}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
