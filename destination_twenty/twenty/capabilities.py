"""What the Twenty server can do, found from its answers and metadata rather than a version string (issue 13).

Servers differ where the connector depends on it (reference §12): the v1.3 line's REST batch create ignores
`?upsert=true` (its GraphQL `create<Plural>(data, upsert: true)` does upsert); v1.20+ names rich text RICH_TEXT
and note/task target join columns targetPersonId. check reports what it found in one line; write adapts on the
fly (batch.py switches to GraphQL when an upsert meets the older server's duplicate errors).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from destination_twenty.errors import ConfigError, DataError
from destination_twenty.mapping.schema import ObjectSchema
from destination_twenty.twenty.client import TwentyClient

# Twenty's answer to a connect whose key matches no record (relation-nested-queries.ts, through
# formatConnectRecordNotFoundErrorMessage.util.ts): the request was understood and nothing was inserted.
CONNECT_MISSING = re.compile(r"Expected 1 record to connect to \S+, but found \d+ for ")
# A key no record can hold: `.invalid` is reserved (RFC 2606), and the probe's own id makes it unique.
_PROBE_ID = "0c0ec7a0-0000-4000-8000-00000000c0ec"

NEITHER = (
    "This Twenty server's REST batch create ignores upsert (as Twenty v1.3 and earlier do), and its GraphQL API "
    "did not take the batch upsert either, so records cannot be matched to existing ones. Upgrade Twenty, or turn "
    "upsert off to create records only."
)


@dataclass(frozen=True)
class Capabilities:
    rest_batch_upsert: bool | None  # None: not probed (upsert off)
    graphql_upsert: bool | None
    rich_text: str | None  # the type name in metadata, if the object has a rich-text field
    target_naming: str | None  # "personId" or "targetPersonId", for note/task targets
    relation_targets: str | None = None  # "graphql": the REST metadata names none, /metadata did (v2 line)
    connect: tuple[
        tuple[str, bool], ...
    ] = ()  # (relation, links by connect inside the write?) per mapped link

    def describe(self) -> str:
        parts = []
        if self.rest_batch_upsert:
            parts.append("REST batch upsert works: records are upserted over REST")
        elif self.graphql_upsert:
            parts.append(
                "REST batch create ignores upsert (Twenty v1.3 line): upserts go through GraphQL "
                "create<Plural>(data, upsert: true), with the same matching and per-record errors"
            )
        elif self.rest_batch_upsert is None:
            parts.append("upsert is off: records are created")
        if self.rich_text:
            parts.append(f"rich text is {self.rich_text}")
        if self.target_naming:
            parts.append(f"note/task targets use {self.target_naming}")
        if self.relation_targets == "graphql":
            parts.append(
                "relation targets come from the GraphQL metadata API (its REST metadata lists relations "
                "without their targets, as the v2 line does)"
            )
        parts.extend(connect_line(relation, works) for relation, works in self.connect)
        return "Twenty server: " + "; ".join(parts) + "."


def detect(
    client: TwentyClient,
    upsert: bool,
    schema: ObjectSchema,
    objects: Sequence[Mapping[str, Any]],
    targets_from: str | None = None,
    links: Sequence[tuple[str, str]] = (),  # (relation, unique field path) the mapping links by
) -> Capabilities:
    """Probe with writes of nothing (empty batches) and read the metadata; ConfigError if upserts cannot work."""
    rest = graphql = None
    if upsert:
        rest = client.batch_upsert_over_rest(schema.name_plural)
        if not rest:
            graphql = client.graphql_upsert_works(schema.name_singular, schema.name_plural)
            if not graphql:
                raise ConfigError(NEITHER)
    rich = next((f.type for f in schema.fields.values() if f.type in ("RICH_TEXT_V2", "RICH_TEXT")), None)
    naming = None
    for obj in objects:
        if isinstance(obj, Mapping) and obj.get("namePlural") == "noteTargets":
            names = {str(f.get("name")) for f in obj.get("fields") or () if isinstance(f, Mapping)}
            naming = (
                "targetPersonId" if "targetPerson" in names else "personId" if "person" in names else None
            )
    connect = tuple(
        (relation, connect_works(client, schema.name_plural, relation, path)) for relation, path in links
    )
    return Capabilities(rest, graphql, rich, naming, targets_from, connect)


def connect_line(relation: str, works: bool) -> str:
    if works:
        return f"the {relation} link is set by connect inside the write (a target too large to read whole costs no lookup)"
    return f"the {relation} link is looked up (this server does not connect by key)"


def connect_works(client: TwentyClient, plural: str, relation: str, path: str) -> bool:
    """Does the server link `relation` by `{"connect": {"where": {path: key}}}`? A probe that writes nothing: two
    records with the same id, each connecting to a key no record holds. A server that connects looks the key up
    before inserting and refuses the call with its not-found error; one that does not refuses the body, or
    (ignoring the field) meets the repeated id in one INSERT and writes neither. Tried on real v1.3 and v2
    servers: 400 "Expected 1 record to connect to company, but found 0 for domainNamePrimaryLinkUrl = …", and
    GET of the probe's id answers not found. Any other answer is a no (links are then looked up)."""
    key = f"connect-probe-{uuid.uuid4().hex[:12]}@connect-probe.invalid"
    if path.endswith("primaryLinkUrl"):
        key = f"https://{key.replace('@', '.')}"
    value: Any = key
    for part in reversed(path.split(".")):
        value = {part: value}
    record = {"id": _PROBE_ID, relation: {"connect": {"where": value}}}
    try:
        client.create_many(plural, [record, dict(record)], False)
    except DataError as exc:
        return bool(CONNECT_MISSING.search(exc.message))
    return False
