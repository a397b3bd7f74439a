"""Where each stream goes: the route of every stream of the catalog (config.py's `streams`, else the default
route), prepared against the workspace's metadata once, before any record is written: its object, mapper,
relation plan and operation (a Target). The writer asks `Routes.sink(stream)` for the builder and batch sender of
a record's stream.

The metadata is read once for every route; check validates each route the same way and says one line per route.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

from destination_twenty.config import Route, TwentyConfig, default_route, route_for
from destination_twenty.errors import AuthenticationError, ConfigError
from destination_twenty.mapping import relations
from destination_twenty.mapping.mapper import Mapper
from destination_twenty.mapping.schema import (
    COMPOSITE_SUBFIELDS,
    PRIMARY_SUBFIELD,
    ObjectSchema,
    find_object,
    object_names,
)
from destination_twenty.twenty.client import TwentyClient
from destination_twenty.twenty.metadata import Workspace, read_workspace
from destination_twenty.write import connects, links
from destination_twenty.write.batch import BatchSender
from destination_twenty.write.items import ItemBuilder, matching_rule
from destination_twenty.write.streams import stream_key
from destination_twenty.write.written import WrittenKeys


@dataclass
class Target:
    """One route, prepared: what the workspace's metadata says about the object it writes."""

    route: Route
    schema: ObjectSchema | None  # None when the key may not read metadata
    mapper: Mapper
    relations: relations.Plan
    warnings: list[str] = field(default_factory=list)

    @property
    def plural(self) -> str:
        return self.route.object_path


def single_target(
    config: TwentyConfig,
    mapper: Mapper | None,
    schema: ObjectSchema | None,
    plan: relations.Plan | None,
) -> Target:
    """The top-level settings, already prepared, as one target (a writer driven without routes)."""
    route = default_route(config) or Route(None, None, config.mode)
    mapper = mapper or Mapper(config.column_mapping, schema, phone_country=config.default_phone_country)
    return Target(route, schema, mapper, plan or relations.Plan(list(mapper.mapping), [], None, [], []))


def read_metadata(client: TwentyClient, routes: Sequence[Route]) -> Workspace | None:
    """The workspace's metadata for these routes (relation targets filled in where a route's mapping needs
    them), or None when the key may not read it (but may read the first route's object)."""
    try:
        return read_workspace(
            client,
            lambda objects: any(
                relations.targets_wanted(r.column_mapping, r.object_path, objects) for r in routes
            ),
        )
    except AuthenticationError as exc:
        # A key without the Data Model permission can still write records; prove it can read the object.
        try:
            client.probe(routes[0].object_path)
        except AuthenticationError:
            raise exc from None
        return None


NO_METADATA_NOTE = (
    "The API key may not read Twenty's data model (metadata), so the column mapping cannot be checked "
    "before writing; give the key's role the Data Model permission for early, clearer errors."
)


def prepare_route(
    config: TwentyConfig,
    route: Route,
    objects: Sequence[Mapping[str, Any]] | None,
    notes: Sequence[str] = (),
) -> Target:
    """Validate a route's object and mapping against the metadata (None: without it); ConfigError naming the
    route when they do not fit. `notes`: why the metadata may be incomplete (a failed read of relation
    targets), said with the problems it explains."""
    # Unknown transforms fail here, schema or not.
    mapper = Mapper(route.column_mapping, phone_country=config.default_phone_country)
    plural = route.object_path
    where = "" if route.stream is None else f"Stream '{route.name}': "
    if objects is None:
        return Target(
            route,
            None,
            mapper,
            relations.plan(route.column_mapping, plural, None),
            [NO_METADATA_NOTE, *mapper.warnings()],
        )
    schema = find_object(objects, plural)
    if schema is None:
        names = object_names(objects)
        close = get_close_matches(plural, names, n=3, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else f" Objects: {', '.join(sorted(names))}."
        what = "Custom object" if route.mode == "custom" else "Object"
        raise ConfigError(f"{where}{what} '{plural}' does not exist in this Twenty workspace.{hint}")
    plan = relations.plan(route.column_mapping, plural, objects)
    mapper = Mapper(plan.columns, schema, phone_country=config.default_phone_country, renamed=route.renamed)
    problems = [*plan.problems, *mapper.problems(), *_key_problems(route, schema)]
    if problems:
        # A failed read of relation targets (notes) is the reason a lookup could not be planned.
        raise ConfigError(
            f"{where}The column mapping does not fit Twenty's {plural}: " + " ".join([*problems, *notes])
        )
    return Target(route, schema, mapper, plan, [*mapper.warnings(), *plan.notes])


def _key_problems(route: Route, schema: ObjectSchema) -> list[str]:
    """A matching key (data activation) must name top-level fields the object has."""
    problems = []
    for name in route.matching_key:
        info = schema.writable(name)
        if name != "id" and info is None:
            close = schema.closest(name)
            hint = f" Closest: {', '.join(close)}." if close else ""
            problems.append(f"the matching key names {name!r}, which {schema.name_plural} has not.{hint}")
        elif (
            info is not None
            and info.type in COMPOSITE_SUBFIELDS
            and info.type not in PRIMARY_SUBFIELD
            and info.type != "FULL_NAME"
        ):
            problems.append(
                f"the matching key names {name!r}, a {info.type} field, which cannot be compared as one value; "
                "match on a plain field, or on an email, link or phone field."
            )
    return problems


def describe(target: Target) -> str:
    """check's line for a route: the stream, the object, the operation and what records are matched on."""
    route = target.route
    who = "Streams no route names" if route.stream is None else f"Stream '{route.name}'"
    if route.operation == "create":
        how = "create records"
    elif route.matching_key:
        how = f"{route.operation} records matched on {' + '.join(route.matching_key)}"
    else:
        rule = matching_rule(target.mapper, target.schema, True, "its key", True)
        how = f"{route.operation} records ({rule})"
    link_fields = [lookup.field for lookup in target.relations.lookups]
    linked = f", linking {', '.join(link_fields)}" if link_fields else ""
    deletes = (
        "; records the source marks deleted delete their match"
        if route.on_source_delete == "delete" and route.operation != "delete"
        else ""
    )
    return f"{who} → {target.plural}: {how}{linked}{deletes}."


@dataclass
class Sink:
    """A prepared route at work: the builder and batch sender of the streams it covers."""

    target: Target
    builder: ItemBuilder
    sender: BatchSender
    buffer: Any = None  # the writer's batch being filled


class Routes:
    """Every stream's prepared route. The writer builds one Sink per route (`sinks`)."""

    def __init__(
        self,
        config: TwentyConfig,
        targets: Mapping[str, Target],
        primary_keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
        deduped: set[str] | None = None,
        default: Target | None = None,
        objects: Sequence[Mapping[str, Any]] | None = None,  # the metadata, for which lookups can be learned
    ):
        self.config = config
        self.targets = dict(targets)  # stream key → Target (streams of one route share it)
        self._default = default  # the target of a stream not in `targets`
        self._objects = objects
        self.resolver: links.Resolver | None = None
        self.primary_keys = dict(primary_keys or {})
        self.deduped = set(deduped or ())
        self._sinks: dict[int, Sink] = {}

    @classmethod
    def single(
        cls,
        config: TwentyConfig,
        target: Target,
        primary_keys: Mapping[str, Sequence[Sequence[str]]] | None,
        deduped: set[str] | None,
    ) -> Routes:
        """Every stream to one target: a config without `streams` (and the tests that drive the writer)."""
        return cls(config, {}, primary_keys, deduped, default=target)

    def target(self, stream: str) -> Target | None:
        return self.targets.get(stream, self._default)

    @property
    def written(self) -> set[str]:
        """The objects this sync writes (a link to them may point at a record that arrives later)."""
        return {
            sink.target.plural for sink in self._sinks.values() if sink.target.route.operation != "delete"
        }

    def build_sinks(self, client: TwentyClient, stop: threading.Event) -> None:
        targets = list({id(t): t for t in [*self.targets.values(), self._default] if t is not None}.values())
        # One resolver for every route: a person's company written by another stream is known by its key.
        written = {t.plural for t in targets if t.route.operation != "delete"} if self.targets else set()
        # What every route writes is remembered by its unique keys (write/written.py), for all the others.
        self.written_keys = WrittenKeys()
        self.resolver = links.Resolver(client, self.written_keys, written)
        self.connects = connects.Connects(client)  # probed once per relation, for every route
        for target in targets:
            self._sink_of(target, client, stop)

    def sink(self, stream: str) -> Sink | None:
        target = self.target(stream)
        return self._sinks.get(id(target)) if target is not None else None

    def sinks(self) -> list[Sink]:
        return list(self._sinks.values())

    def _sink_of(self, target: Target, client: TwentyClient, stop: threading.Event) -> Sink:
        config = self.config
        sender = BatchSender(
            client,
            target.plural,
            target.schema,
            target.route.upsert,
            config.batch_size,
            stop,
            fail_fast=not config.partial_success,
            dry_run=config.dry_run,
            relations=target.relations,
            written=self.written_keys,
            resolver=self.resolver,
            connector=self.connects,
        )
        builder = ItemBuilder(
            config,
            target.mapper,
            target.schema,
            self.primary_keys,
            sender.is_partial,
            deduped=self.deduped,
            lookups=target.relations.lookups,
            upsert=target.route.upsert,
            operation=target.route.operation,
            on_source_delete=target.route.on_source_delete,
            matching_key=target.route.matching_key,
        )
        sink = Sink(target, builder, sender)
        self._sinks[id(target)] = sink
        return sink


def plan_routes(
    config: TwentyConfig,
    streams: Sequence[tuple[str, str | None]],
    objects: Sequence[Mapping[str, Any]] | None,
    overrides: Mapping[str, Route] | None = None,
) -> dict[str, Target]:
    """The prepared route of each catalog stream (namespace, name); ConfigError for a stream nothing covers,
    before anything is written. Streams of one route share its Target."""
    prepared: dict[Route, Target] = {}
    targets: dict[str, Target] = {}
    uncovered = []
    for name, namespace in streams:
        key = stream_key(name, namespace)
        route = (overrides or {}).get(key) or route_for(config, name, namespace)
        if route is None:
            uncovered.append(key)
            continue
        if route not in prepared:
            prepared[route] = prepare_route(config, route, objects)
        targets[key] = prepared[route]
    if uncovered:
        named = ", ".join(f"'{r.name}'" for r in config.streams)
        raise ConfigError(
            f"No route covers stream {', '.join(repr(s) for s in uncovered)}: the config has no top-level mode, "
            f"and streams names only {named}. Add a route for it, or set mode for every other stream."
        )
    return targets


def all_routes(config: TwentyConfig) -> list[Route]:
    """Every route of the config, the default first (check validates them all)."""
    default = default_route(config)
    return [*([default] if default is not None else []), *config.streams]
