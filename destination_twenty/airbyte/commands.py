"""The connector's commands, check and write, and how each ends. Thin on purpose; the work is in writer.py.

It speaks the Airbyte protocol as plain JSON (protocol.py) and does not import the Airbyte CDK: the CDK's
package imports all of itself on first use, which cost about a second of every check and write.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from destination_twenty.airbyte import protocol
from destination_twenty.airbyte.activation import stream_routes
from destination_twenty.airbyte.discover import destination_catalog
from destination_twenty.config import Route, TwentyConfig, default_route, route_for
from destination_twenty.errors import (
    AuthenticationError,
    ConfigError,
    TransientAPIError,
    TwentyAPIError,
    TwentyDestinationError,
)
from destination_twenty.mapping import relations
from destination_twenty.mapping.columns import check_columns
from destination_twenty.mapping.mapper import Mapper
from destination_twenty.mapping.schema import ObjectSchema
from destination_twenty.twenty.capabilities import connect_line, connect_works, detect
from destination_twenty.twenty.client import TwentyClient
from destination_twenty.twenty.metadata import read_workspace
from destination_twenty.write.items import matching_rule
from destination_twenty.write.messages import Message
from destination_twenty.write.routes import (
    Routes,
    all_routes,
    describe,
    plan_routes,
    prepare_route,
    read_metadata,
)
from destination_twenty.write.streams import stream_key
from destination_twenty.write.writer import SyncFailed, Writer

logger = logging.getLogger("airbyte")

CHECK_RETRY_SECONDS = 15.0  # check must answer within 30 s even when the URL is unreachable
CHECK_TIMEOUT = (5.0, 10.0)
# The destination sync modes of the Airbyte protocol; the ones we cannot do are refused with a sentence.
DESTINATION_SYNC_MODES = ("append", "overwrite", "append_dedup", "update", "soft_delete")
# update and soft_delete come from Airbyte's data activation (activation.py): update-only and delete routes.
SUPPORTED_SYNC_MODES = ("append", "append_dedup", "update", "soft_delete")


class DestinationTwenty:
    def check(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The CONNECTION_STATUS message. Never raises: every problem becomes FAILED with a sentence the user can
        act on."""
        try:
            twenty_config = TwentyConfig.from_mapping(config)
            protocol.register_secret(twenty_config.api_key)
            for (
                warning
            ) in twenty_config.warnings:  # before any call, so an unreachable server does not hide it
                logger.warning(warning)
            # A handful of calls: pacing them at a low requests_per_minute would only make check slow.
            client = TwentyClient(
                twenty_config,
                retry_seconds=check_retry_seconds(config),
                timeout=CHECK_TIMEOUT,
                per_minute=600,
            )
            try:
                prepared = prepare(twenty_config, client)
                schema, warnings = prepared.schema, prepared.warnings
                client.probe(all_routes(twenty_config)[0].object_path)
                if schema is not None:
                    links = [
                        (lookup.relation, lookup.path)
                        for lookup in prepared.relations.lookups
                        if lookup.unique and not lookup.is_target and lookup.path != "id"
                    ]
                    found = detect(
                        client, twenty_config.upsert, schema, prepared.objects, prepared.targets_from, links
                    )
                    warnings.append(found.describe())
                    # check has no catalog: it says the rule for each kind of stream; write says it per stream.
                    dedup = matching_rule(prepared.mapper, schema, twenty_config.upsert, "its key", True)
                    other = matching_rule(prepared.mapper, schema, twenty_config.upsert, "", False)
                    warnings.append(
                        f"Matching: on an Append + Deduped stream with a primary key, {dedup}; on other streams, "
                        f"{other}."
                    )
                warnings.extend(_check_routes(twenty_config, client, prepared))
            finally:
                client.close()
        except TwentyDestinationError as exc:
            return protocol.connection_status(False, _describe(exc))
        except Exception as exc:  # a bug must still not turn check into a crash
            # The message stays one line; the traceback (the frames, not the values) goes to the DEBUG log.
            logger.debug(
                f"check failed with {type(exc).__name__}: {exc}; where:\n"
                + "".join(traceback.format_tb(exc.__traceback__))
            )
            return protocol.connection_status(
                False,
                f"Unexpected error: {type(exc).__name__}. Its traceback is in the connector's log at DEBUG level: "
                "run check again with --debug (or LOG_LEVEL=DEBUG) to see it, and report it with that log.",
            )
        for warning in warnings:
            (logger.info if schema is not None else logger.warning)(warning)
        return protocol.connection_status(True)

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: Mapping[str, Any],
        input_messages: Iterable[Message],
    ) -> Iterator[dict[str, Any]]:
        twenty_config = TwentyConfig.from_mapping(config)
        protocol.register_secret(twenty_config.api_key)
        for warning in twenty_config.warnings:
            yield protocol.log_message("WARN", warning)
        primary_keys, deduped = check_catalog(configured_catalog)
        streams = catalog_streams(configured_catalog)
        overrides = stream_routes(twenty_config, configured_catalog)
        for route, of_route in _streams_by_route(
            twenty_config, configured_catalog, overrides
        ):  # before any request
            for warning in check_columns(of_route, route.column_mapping):
                yield protocol.log_message("WARN", warning)
        client = TwentyClient(twenty_config, timeout=_timeout(config))
        try:
            used = [overrides.get(stream_key(n, ns)) or route_for(twenty_config, n, ns) for n, ns in streams]
            workspace = read_metadata(client, [r for r in used if r is not None] or all_routes(twenty_config))
            objects = workspace.objects if workspace is not None else None
            targets = plan_routes(twenty_config, streams, objects, overrides)
            for note in workspace.notes if workspace is not None else ():
                yield protocol.log_message("INFO", note)
            for target in {id(t): t for t in targets.values()}.values():
                for warning in target.warnings:
                    # With the schema these are notes on what the writer does about Twenty's quirks; without, risks.
                    yield protocol.log_message("INFO" if target.schema is not None else "WARN", warning)
            routes = Routes(twenty_config, targets, primary_keys, deduped, objects=objects)
            writer = Writer(twenty_config, client, routes=routes)
            yield from (protocol.log_message("INFO", line) for line in writer.matching_rules())
            yield from (protocol.render(event) for event in writer.run(input_messages))
        finally:
            client.close()

    def discover(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The DESTINATION_CATALOG message: what this workspace can receive."""
        client = TwentyClient(
            TwentyConfig.from_mapping(config), retry_seconds=30.0, timeout=(5.0, 30.0), per_minute=600
        )
        try:
            return destination_catalog(
                read_workspace(client).objects
            )  # relation targets included, on every line
        finally:
            client.close()

    def run_command(self, parsed: argparse.Namespace) -> None:
        """check, discover or write; every failure ends as one clean ERROR trace and exit 1, never a traceback."""
        try:
            raw = _readable_json(parsed.config, "config")
            # Mask the key in every line we print from here on, even where a message quotes a config value
            # (a key pasted into the wrong field must not be echoed back).
            if isinstance(raw.get("api_key"), str):
                protocol.register_secret(raw["api_key"])
            if parsed.command == "check":
                # The one validation (config.py), as write runs it: the same answer, word for word.
                try:
                    TwentyConfig.from_mapping(raw)
                except ConfigError as exc:
                    protocol.emit(protocol.connection_status(False, _describe(exc)))
                    return
                protocol.emit(self.check(raw))
            elif parsed.command == "discover":
                protocol.emit(self.discover(raw))
            else:
                catalog = _readable_json(parsed.catalog, "configured catalog")
                logger.info("Begin writing to the destination...")
                # Bytes, not text: a line that is not UTF-8 becomes that record's rejection, not a crash.
                messages = protocol.read_messages(sys.stdin.buffer)
                # The writer's summary (created, updated, rejected per stream) is the last LOG line.
                for message in self.write(raw, catalog, messages):
                    protocol.emit(message)
        except SyncFailed:
            sys.exit(1)  # its trace was emitted by the writer
        except ConfigError as exc:
            _fail(_describe(exc), "config_error")
        except AuthenticationError as exc:
            _fail(_describe(exc), "config_error")
        except TransientAPIError as exc:
            _fail(_describe(exc), "transient_error")
        except TwentyDestinationError as exc:
            _fail(_describe(exc), "system_error")
        except Exception as exc:
            logger.error(f"Unexpected error: {type(exc).__name__}: {exc}")
            _fail(f"Unexpected error in destination-twenty: {type(exc).__name__}", "system_error")


@dataclass
class Prepared:
    """What the workspace's metadata says about this sync, read once by check and write alike."""

    schema: ObjectSchema | None  # None when the key may not read metadata
    mapper: Mapper
    warnings: list[str]  # lines for the log
    relations: relations.Plan  # the relations looked up by key (relations.py)
    objects: list[dict[str, Any]]  # the metadata API's objects (empty without the permission)
    targets_from: str | None = None  # where relation targets came from (twenty/metadata.py)


def prepare(config: TwentyConfig, client: TwentyClient, route: Route | None = None) -> Prepared:
    """Read the workspace's metadata and validate a route's mapping against it (default: the top-level
    settings), before any record is written.

    The metadata is read once here; check's capability probe and the other routes reuse it (Prepared.objects).
    """
    route = route or default_route(config) or all_routes(config)[0]
    workspace = read_metadata(client, all_routes(config))
    objects = workspace.objects if workspace is not None else None
    notes = workspace.notes if workspace is not None else []
    target = prepare_route(config, route, objects, notes)
    return Prepared(
        target.schema,
        target.mapper,
        [*notes, *target.warnings],
        target.relations,
        objects or [],
        workspace.targets_from if workspace is not None else None,
    )


def check_catalog(catalog: Mapping[str, Any]) -> tuple[dict[str, list[list[str]]], set[str]]:
    """Refuse what we cannot do before writing anything; return each stream's primary key paths, and the
    streams on append_dedup (one Twenty record per primary key).

    Reads the configured catalog as JSON: only the parts we use are checked (the stream's name and namespace,
    its destination sync mode and primary key)."""
    streams = catalog.get("streams") if isinstance(catalog, Mapping) else None
    if not isinstance(streams, list):
        raise ConfigError("The configured catalog is not a valid Airbyte catalog: it has no list of streams.")
    if not streams:
        raise ConfigError("The configured catalog has no streams: there is nothing to write.")
    primary_keys: dict[str, list[list[str]]] = {}
    deduped: set[str] = set()
    for i, configured in enumerate(streams):
        where = f"The configured catalog is not a valid Airbyte catalog: streams[{i}]"
        stream = configured.get("stream") if isinstance(configured, Mapping) else None
        if not isinstance(stream, Mapping) or not isinstance(stream.get("name"), str):
            raise ConfigError(f"{where} has no stream with a name.")
        name, namespace = stream["name"], stream.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise ConfigError(f"{where}.stream.namespace must be a string; got {namespace!r}.")
        mode = configured.get("destination_sync_mode")
        if mode not in DESTINATION_SYNC_MODES:
            raise ConfigError(
                f"{where}.destination_sync_mode must be one of {', '.join(DESTINATION_SYNC_MODES)}; got {mode!r}."
            )
        if mode not in SUPPORTED_SYNC_MODES:
            raise ConfigError(
                f"Stream '{name}' asks for destination sync mode '{mode}'; Twenty supports "
                "append, append_dedup, update and soft_delete (a full overwrite would delete every record the sync does "
                "not send). In the Airbyte UI choose "
                'Append or Append + Deduped; with PyAirbyte pass write_strategy="append" (its default picks '
                "overwrite for a stream with no primary key)."
            )
        pk = configured.get("primary_key")
        if pk is not None and not (
            isinstance(pk, list)
            and all(isinstance(p, list) and all(isinstance(x, str) for x in p) for p in pk)
        ):
            raise ConfigError(
                f"{where}.primary_key must be a list of field paths (lists of names); got {pk!r}."
            )
        key = stream_key(name, namespace)  # as the writer tells streams apart
        primary_keys[key] = [list(p) for p in (pk or []) if p]
        if mode in ("append_dedup", "update", "soft_delete"):  # one Twenty record per primary key
            deduped.add(key)
    return primary_keys, deduped


def catalog_streams(catalog: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(name, namespace) of every configured stream (check_catalog has validated their shape)."""
    return [(c["stream"]["name"], c["stream"].get("namespace")) for c in catalog["streams"]]


def _streams_by_route(
    config: TwentyConfig, catalog: Mapping[str, Any], overrides: Mapping[str, Route]
) -> list[tuple[Route, dict[str, Any]]]:
    """The configured streams of each route, as a catalog: its column mapping is checked against them."""
    grouped: dict[Route, list[Any]] = {}
    for configured in catalog["streams"]:
        name, namespace = configured["stream"]["name"], configured["stream"].get("namespace")
        route = overrides.get(stream_key(name, namespace)) or route_for(config, name, namespace)
        if route is not None and not route.renamed:
            grouped.setdefault(route, []).append(configured)
    return [(route, {**catalog, "streams": streams}) for route, streams in grouped.items()]


def _check_routes(config: TwentyConfig, client: TwentyClient, prepared: Prepared) -> list[str]:
    """check's line for each route of `streams`, each validated as write would (object, fields, relations,
    operation) and its object proved readable."""
    if not config.streams:
        return []
    objects = prepared.objects if prepared.schema is not None else None
    lines = []
    probed: set[str] = set()
    for route in all_routes(config):
        target = prepare_route(config, route, objects)
        if target.plural not in probed:
            client.probe(target.plural)
            probed.add(target.plural)
        lines.append(describe(target))
        for lookup in target.relations.lookups if target.relations else ():
            if lookup.unique and not lookup.is_target and lookup.path != "id":
                works = connect_works(client, target.plural, lookup.relation, lookup.path)
                lines.append(f"Stream route to {target.plural}: {connect_line(lookup.relation, works)}.")
    return lines


def check_retry_seconds(config: Mapping[str, Any]) -> float:
    """check's retry budget; `check_retry_seconds` is an undocumented knob for tests (a real check keeps 15 s)."""
    seconds = config.get("check_retry_seconds")
    if (
        isinstance(seconds, (int, float))
        and not isinstance(seconds, bool)
        and 0 <= seconds <= CHECK_RETRY_SECONDS
    ):
        return float(seconds)
    return CHECK_RETRY_SECONDS


def _timeout(config: Mapping[str, Any]) -> tuple[float, float]:
    """Read timeout per request; `request_timeout_seconds` is an undocumented knob for tests."""
    seconds = config.get("request_timeout_seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
        return (min(10.0, float(seconds)), float(seconds))
    return (10.0, 60.0)


def _describe(exc: Exception) -> str:
    if isinstance(exc, AuthenticationError):
        return (
            f"Authentication with Twenty failed: {exc.message}. Check the API key (Settings → APIs & Webhooks) "
            "and that its role may read and write this object."
        )
    if isinstance(exc, TransientAPIError):
        return f"Twenty could not be reached or kept failing: {exc.message}"
    if isinstance(exc, TwentyAPIError):
        return f"Twenty answered with an error: {exc.message}"
    return str(exc)


def _readable_json(path: str, what: str) -> dict[str, Any]:
    """The config or the configured catalog: one JSON object, or a ConfigError naming the file and the kind of
    failure (never its text: the config holds the key)."""
    try:
        with open(path, "rb") as f:
            value = orjson.loads(f.read())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The {what} file {path} cannot be read as JSON: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"The {what} file {path} must hold a JSON object.")
    return value


def _fail(message: str, failure_type: str) -> None:
    protocol.emit(protocol.error_trace(message, failure_type=failure_type))
    sys.exit(1)
