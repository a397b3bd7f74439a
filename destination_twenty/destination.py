"""The CDK glue: spec (from spec.json), check and write. Thin on purpose; the work is in writer.py."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from difflib import get_close_matches
from typing import Any

import orjson
from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    DestinationSyncMode,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import update_secrets

from destination_twenty import protocol, relations
from destination_twenty.capabilities import detect
from destination_twenty.client import TwentyClient
from destination_twenty.columns import check_columns
from destination_twenty.config import TwentyConfig
from destination_twenty.errors import (
    AuthenticationError,
    ConfigError,
    TransientAPIError,
    TwentyAPIError,
    TwentyDestinationError,
)
from destination_twenty.mapping import Mapper
from destination_twenty.schema import ObjectSchema, find_object, object_names
from destination_twenty.writer import SyncFailed, Writer

logger = logging.getLogger("airbyte")

CHECK_RETRY_SECONDS = 15.0  # check must answer within 30 s even when the URL is unreachable
CHECK_TIMEOUT = (5.0, 10.0)


class DestinationTwenty(Destination):
    # write validates the config itself (config.py), so a bad value gets our message and no stack trace.
    check_config_against_spec = False

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Never raises: every problem becomes FAILED with a sentence the user can act on."""
        try:
            twenty_config = TwentyConfig.from_mapping(config)
            update_secrets([twenty_config.api_key])
            # A handful of calls: pacing them at a low requests_per_minute would only make check slow.
            client = TwentyClient(
                twenty_config, retry_seconds=CHECK_RETRY_SECONDS, timeout=CHECK_TIMEOUT, per_minute=600
            )
            try:
                schema, _, warnings, _ = prepare(twenty_config, client)
                client.probe(twenty_config.object_path)
                if schema is not None:
                    warnings.append(
                        detect(client, twenty_config.upsert, schema, client.metadata_objects()).describe()
                    )
            finally:
                client.close()
        except TwentyDestinationError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=_describe(exc))
        except Exception as exc:  # a bug must still not turn check into a crash
            return AirbyteConnectionStatus(
                status=Status.FAILED, message=f"Unexpected error: {type(exc).__name__}"
            )
        for warning in warnings:
            (logger.info if schema is not None else logger.warning)(warning)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[Any],
    ) -> Iterator[dict[str, Any]]:
        twenty_config = TwentyConfig.from_mapping(config)
        update_secrets([twenty_config.api_key])
        primary_keys, deduped = check_catalog(configured_catalog)
        for warning in check_columns(configured_catalog, twenty_config.column_mapping):  # before any request
            yield protocol.log_message("WARN", warning)
        client = TwentyClient(twenty_config, timeout=_timeout(config))
        try:
            schema, mapper, warnings, relation_plan = prepare(twenty_config, client)
            for warning in warnings:
                # With the schema these are notes on what the writer does about Twenty's quirks; without, risks.
                yield protocol.log_message("INFO" if schema is not None else "WARN", warning)
            writer = Writer(
                twenty_config,
                client,
                mapper,
                schema,
                primary_keys=primary_keys,
                deduped=deduped,
                relations=relation_plan,
            )
            yield from (protocol.log_message("INFO", line) for line in writer.matching_rules())
            yield from writer.run(input_messages)
        finally:
            client.close()

    def _run_write(
        self, config: Mapping[str, Any], configured_catalog_path: str, input_stream: Any
    ) -> Iterator[Any]:
        try:
            with open(configured_catalog_path, "rb") as f:
                catalog = ConfiguredAirbyteCatalogSerializer.load(orjson.loads(f.read()))
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"The configured catalog cannot be read: {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # serpyco's schema errors have no common public base
            raise ConfigError(f"The configured catalog is not a valid Airbyte catalog: {exc}") from None
        logger.info("Begin writing to the destination...")
        # The writer's summary (created, updated, rejected per stream) is the last LOG line.
        yield from self.write(config, catalog, self._parse_input_stream(input_stream))

    # The CDK parses stdin into its own dataclasses, which drop the platform's state `id`; we read raw JSON.
    def _parse_input_stream(self, input_stream: io.TextIOWrapper) -> Iterator[Any]:
        return protocol.read_messages(input_stream)

    def run(self, args: list[str]) -> None:
        """Like the CDK's run, but every failure ends as one clean ERROR trace and exit 1, never a traceback."""
        parsed = self.parse_args(args)
        try:
            if getattr(parsed, "config", None):
                raw = _readable_json(parsed.config, "config")
                # Mask the key in every line we print from here on, even where a message quotes a config value
                # (a key pasted into the wrong field must not be echoed back).
                if isinstance(raw.get("api_key"), str) and raw["api_key"].strip():
                    update_secrets([raw["api_key"], raw["api_key"].strip()])
                if parsed.command == "check":
                    # Our own validation first: its messages name the key at fault, the CDK's quote a pattern.
                    try:
                        TwentyConfig.from_mapping(raw)
                    except ConfigError as exc:
                        status = AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
                        protocol.emit(AirbyteMessageSerializer.dump(_status_message(status)))
                        return
            for message in self.run_cmd(parsed):
                if isinstance(message, AirbyteMessage):
                    protocol.emit(AirbyteMessageSerializer.dump(message))
                else:
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


def prepare(
    config: TwentyConfig, client: TwentyClient
) -> tuple[ObjectSchema | None, Mapper, list[str], relations.Plan]:
    """Read the workspace's metadata and validate the mapping against it, before any record is written.

    Returns the object's schema (None when the key may not read metadata), the mapper built on it, lines for
    the log, and the relations looked up by key (relations.py).
    """
    # Unknown transforms fail here, schema or not.
    mapper = Mapper(config.column_mapping, phone_country=config.default_phone_country)
    plural = config.object_path
    try:
        objects = client.metadata_objects()
    except AuthenticationError as exc:
        # A key without the Data Model permission can still write records; prove it can read the object.
        try:
            client.probe(plural)
        except AuthenticationError:
            raise exc from None
        note = (
            "The API key may not read Twenty's data model (metadata), so the column mapping cannot be checked "
            "before writing; give the key's role the Data Model permission for early, clearer errors."
        )
        return None, mapper, [note, *mapper.warnings()], relations.plan(config.column_mapping, plural, None)
    schema = find_object(objects, plural)
    if schema is None:
        names = object_names(objects)
        close = get_close_matches(plural, names, n=3, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else f" Objects: {', '.join(sorted(names))}."
        what = "Custom object" if config.mode == "custom" else "Object"
        raise ConfigError(f"{what} '{plural}' does not exist in this Twenty workspace.{hint}")
    relation_plan = relations.plan(config.column_mapping, plural, objects)
    mapper = Mapper(relation_plan.columns, schema, phone_country=config.default_phone_country)
    problems = [*relation_plan.problems, *mapper.problems()]
    if problems:
        raise ConfigError("The column mapping does not fit Twenty's " + plural + ": " + " ".join(problems))
    return schema, mapper, [*mapper.warnings(), *relation_plan.notes], relation_plan


def check_catalog(catalog: ConfiguredAirbyteCatalog) -> tuple[dict[str, list[list[str]]], set[str]]:
    """Refuse what we cannot do before writing anything; return each stream's primary key paths, and the
    streams on append_dedup (one Twenty record per primary key)."""
    if not catalog.streams:
        raise ConfigError("The configured catalog has no streams: there is nothing to write.")
    primary_keys: dict[str, list[list[str]]] = {}
    deduped: set[str] = set()
    for configured in catalog.streams:
        mode = configured.destination_sync_mode
        if mode not in (DestinationSyncMode.append, DestinationSyncMode.append_dedup):
            raise ConfigError(
                f"Stream '{configured.stream.name}' asks for destination sync mode '{mode.value}'; Twenty supports "
                "append and append_dedup (records are created or upserted, never deleted)."
            )
        name, namespace = configured.stream.name, configured.stream.namespace
        key = f"{namespace}.{name}" if namespace else name  # as the writer tells streams apart
        primary_keys[key] = [list(p) for p in (configured.primary_key or []) if p]
        if mode == DestinationSyncMode.append_dedup:
            deduped.add(key)
    return primary_keys, deduped


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
    try:
        with open(path, "rb") as f:
            value = orjson.loads(f.read())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The {what} file {path} cannot be read as JSON: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"The {what} file {path} must hold a JSON object.")
    return value


def _status_message(status: AirbyteConnectionStatus) -> AirbyteMessage:
    return AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status)


def _fail(message: str, failure_type: str) -> None:
    protocol.emit(protocol.error_trace(message, failure_type=failure_type))
    sys.exit(1)
