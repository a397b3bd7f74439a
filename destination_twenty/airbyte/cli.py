"""The console script: parse the command line and run one command, importing only what that command needs.

`spec` reads spec.json and prints it: no HTTP client, no writer, no CDK. `check` and `write` load the connector
(destination.py), which still never imports the Airbyte CDK: the CDK's package imports every part of itself
(sources, declarative manifests, models) on first use, about a second of every start. The arguments and the
messages are the same as the CDK's Destination.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from destination_twenty.airbyte import protocol
from destination_twenty.config import spec


def parse_args(args: list[str]) -> argparse.Namespace:
    """The CDK Destination's command line (spec, check --config, write --config --catalog) and discover --config,
    which the CDK's destinations lack."""
    main_parser = argparse.ArgumentParser()
    subparsers = main_parser.add_subparsers(title="commands", dest="command")
    subparsers.add_parser("spec", help="outputs the json configuration specification")
    check_parser = subparsers.add_parser("check", help="checks the config can be used to connect")
    check_required = check_parser.add_argument_group("required named arguments")
    check_required.add_argument(
        "--config", type=str, required=True, help="path to the json configuration file"
    )
    # --debug (the CDK's flag) or LOG_LEVEL=DEBUG (the platform's variable): DEBUG lines, tracebacks included.
    check_parser.add_argument("--debug", action="store_true", help="log at DEBUG level")
    write_parser = subparsers.add_parser("write", help="Writes data to the destination")
    write_parser.add_argument("--debug", action="store_true", help="log at DEBUG level")
    write_required = write_parser.add_argument_group("required named arguments")
    write_required.add_argument(
        "--config", type=str, required=True, help="path to the JSON configuration file"
    )
    write_required.add_argument(
        "--catalog", type=str, required=True, help="path to the configured catalog JSON file"
    )
    discover_parser = subparsers.add_parser("discover", help="outputs the workspace as a DESTINATION_CATALOG")
    discover_parser.add_argument(
        "--config", type=str, required=True, help="path to the JSON configuration file"
    )
    parsed = main_parser.parse_args(args)
    if not parsed.command:
        main_parser.error("no command given: use spec, check, discover or write")
    return parsed


def setup_logging(debug: bool = False) -> None:
    """Python logging goes to stdout as Airbyte LOG messages, the key masked; the connector logs as `airbyte`."""
    root = logging.getLogger()
    # Once, however often run is called.
    if not any(isinstance(h, protocol.LogHandler) for h in root.handlers):
        root.addHandler(protocol.LogHandler())
    debug = debug or os.environ.get("LOG_LEVEL", "").upper() == "DEBUG"
    logging.getLogger("airbyte").setLevel(logging.DEBUG if debug else logging.INFO)


def run() -> None:
    args = sys.argv[1:]
    parsed = parse_args(args)
    setup_logging(getattr(parsed, "debug", False))
    if parsed.command == "spec":
        protocol.emit({"type": "SPEC", "spec": spec()})
        return
    from destination_twenty.airbyte.commands import (
        DestinationTwenty,  # only check, discover and write need the connector
    )

    DestinationTwenty().run_command(parsed)
