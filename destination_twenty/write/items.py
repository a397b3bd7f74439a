"""The one place a record becomes an Item (what will be sent, and how) or a Rejection (why it cannot be).

It also chooses the ids the connector gives records it creates, so that a retry, a resumed sync or a re-run of
the same data lands on the same Twenty record instead of creating it twice:
- with the stream's primary key: uuid5 of the stream's identity and the key, so a record keeps its identity;
- without one: uuid5 of the stream's identity, of what is sent, and of how many identical rows came before it since the
  stream's last STATE. The platform replays from a STATE, so that count is the same on every replay, while two
  identical rows in one stretch stay two records.
The stream's identity (streams.identity) is its unambiguous key within the config's identity_scope: two
connections sending a stream `users` with keys 1..N keep apart once their scopes differ.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from destination_twenty.config import TwentyConfig
from destination_twenty.errors import RecordRejected
from destination_twenty.mapping.columns import dig
from destination_twenty.mapping.keys import match_text, unique_keys
from destination_twenty.mapping.mapper import Mapper
from destination_twenty.mapping.relations import Lookup
from destination_twenty.mapping.schema import PRIMARY_SUBFIELD, ObjectSchema
from destination_twenty.write.occurrences import Occurrences
from destination_twenty.write.streams import identity

CLIENT_ID_NAMESPACE = uuid.UUID("5f6b7c1e-2b1d-4c59-9a51-7e0e4f1f2a10")
CDC_DELETED = "_ab_cdc_deleted_at"  # set by Airbyte's CDC sources on a row deleted in the source
MAX_REQUEST_BYTES = 9_000_000  # Twenty (v1.x) refuses JSON bodies over 10 MB; keep a margin


@dataclass(slots=True)
class Item:
    """One record on its way: where it came from, what will be sent, and how."""

    seq: int  # arrival order across streams
    stream: str
    position: int  # 1-based position of the record in its stream
    payload: dict[str, Any]
    keys: frozenset[tuple[str, str]]
    size: int  # bytes of the encoded payload: a request body stays under Twenty's limit
    update: bool = False  # the mapping gave an `id`: update that existing record
    client_id: bool = False  # we chose the id (create path): a duplicate on it means "already written"
    key_id: bool = False  # upserted on an id derived from the stream's primary key (append_dedup)
    partial: bool = False  # sends part of a LINKS/EMAILS field, which Twenty would wipe: merge what is stored
    data: Any = None  # the record as it came, for the rejected-records file
    lookups: tuple = ()  # (relations.Lookup, key) pairs: links resolved by the batch sender before sending
    targets: list = field(default_factory=list)  # (Lookup, target id): note/task targets to link once written
    # What is done with it: "write" (create or upsert), "update" (only a record that matches, never create),
    # "delete" (soft-delete what matches), "ignore" (a source delete the route ignores: counted, not sent).
    action: str = "write"
    # A matching key of several fields (data activation): (path, normalised value) pairs that must all be
    # equal; empty: matched on `keys`, any of them.
    match: tuple = ()


@dataclass(slots=True)
class Rejection:
    seq: int
    stream: str
    position: int
    reason: str
    field: str | None = None
    data: Any = None  # the record as it came
    message: str | None = None  # Twenty's own words, when Twenty refused it


@dataclass
class _Stream:
    position: int = 0
    identical: Occurrences = field(default_factory=Occurrences)  # rows per content since the last STATE


class ItemBuilder:
    def __init__(
        self,
        config: TwentyConfig,
        mapper: Mapper,
        schema: ObjectSchema | None,
        primary_keys: Mapping[str, Sequence[Sequence[str]]],
        is_partial: Callable[[Mapping[str, Any]], bool],
        deduped: set[str] | frozenset[str] = frozenset(),
        lookups: Sequence[Lookup] = (),
        upsert: bool | None = None,  # the route's: matched (upsert, update, delete) or created
        operation: str | None = None,  # the route's operation (config.Route); None: upsert or create
        on_source_delete: str = "ignore",
        matching_key: Sequence[str] = (),  # data activation: top-level Twenty fields that together match
    ):
        self.upsert = config.upsert if upsert is None else upsert
        self.scope = config.identity_scope
        self.operation = operation or ("upsert" if self.upsert else "create")
        self.on_source_delete = on_source_delete
        self.match_paths = tuple(path for name in matching_key for path in _match_paths(name, schema))
        self.deduped = deduped
        self.lookups = tuple(lookups)
        self.mapper = mapper
        self.schema = schema
        self.primary_keys = primary_keys
        self._is_partial = is_partial
        self._streams: dict[str, _Stream] = {}
        self._seq = 0

    def build(self, stream: str, data: Any) -> Item | Rejection:
        state = self._streams.setdefault(stream, _Stream())
        state.position += 1
        self._seq += 1
        try:
            if not isinstance(data, dict):
                raise RecordRejected(f"the record's data is {type(data).__name__}, not a JSON object")
            action = self._action(data)
            payload = self.mapper.map(data)
            links = self._links(data) if self.lookups and action in ("write", "update") else ()
            if not payload and not links and action not in ("ignore", "delete"):
                raise RecordRejected("every mapped value is empty, so there is nothing to write")
            item = self._item(stream, state, payload, data)
            item.lookups = links
            item.action = action
            if self.match_paths and action != "ignore":
                item.match = self._match(payload)
            if action in ("update", "delete") and item.client_id:
                raise RecordRejected(
                    f"nothing to match it on, so it cannot be {action}d: map a unique field "
                    f"({', '.join(self._unique_fields()) or 'none on this object'}) or a column to id, or sync "
                    "the stream as Append + Deduped with a primary key"
                )
            if item.size > MAX_REQUEST_BYTES:
                raise RecordRejected(
                    f"the record is {item.size / 1e6:.1f} MB once encoded; Twenty accepts request bodies up to "
                    f"10 MB, so it cannot be sent"
                )
        except RecordRejected as exc:
            return Rejection(self._seq, stream, state.position, exc.reason, exc.field, data=data)
        return item

    def _action(self, data: Mapping[str, Any]) -> str:
        """What the record asks for: the route's operation, or a delete when a CDC source marks it deleted."""
        if self.operation == "delete":
            return "delete"
        if data.get(CDC_DELETED) not in (None, "", False):
            return "delete" if self.on_source_delete == "delete" else "ignore"
        return "update" if self.operation == "update" else "write"

    def _match(self, payload: Mapping[str, Any]) -> tuple:
        # An empty part compares with what Twenty stores for it (""), but a key must hold something.
        pairs = tuple(
            (path, match_text(path, dig(payload, path.split("."))) or "") for path in self.match_paths
        )
        if not any(value for _, value in pairs):
            raise RecordRejected(
                f"its matching key ({' + '.join(self.match_paths)}) is empty, so it cannot be matched",
                field=self.match_paths[0],
            )
        return pairs

    def _unique_fields(self) -> list[str]:
        return [p for p in (self.schema.unique_paths if self.schema else ()) if p != "id"]

    def reject(self, stream: str, reason: str, data: Any = None) -> Rejection:
        """A record that cannot even be read (protocol.UnparseableRecord): counted in its place, as a rejection."""
        state = self._streams.setdefault(stream, _Stream())
        state.position += 1
        self._seq += 1
        return Rejection(self._seq, stream, state.position, reason, data=data)

    def _links(self, data: Mapping[str, Any]) -> tuple:
        links = []
        for lookup in self.lookups:
            value = lookup.read(data)
            if value is None or value == "":
                continue
            try:
                key = lookup.normalise(value)
            except RecordRejected as exc:
                raise RecordRejected(exc.reason, field=lookup.field) from None
            if key is not None:
                links.append((lookup, key))
        return tuple(links)

    def state_received(self, streams: Sequence[str] | None) -> None:
        """A STATE arrived: the platform would replay these streams from here, so identical rows count anew."""
        for name, state in self._streams.items():
            if streams is None or name in streams:
                state.identical.clear()

    def matching_rule(self, stream: str) -> str:
        """In words, for the log: which key a record of this stream is matched on in Twenty."""
        if self.match_paths:
            return f"{self.operation} records matched on {' + '.join(self.match_paths)} (data activation)"
        pk = self.primary_keys.get(stream)
        pk_text = " + ".join(".".join(p) for p in pk) if pk else ""
        rule = matching_rule(self.mapper, self.schema, self.upsert, pk_text, stream in self.deduped)
        if any(m.field == "id" for m in self.mapper.mapping):
            return rule  # the source names the records: no id is derived
        return f"{rule}; {scope_note(self.scope)}"

    def _item(self, stream: str, state: _Stream, payload: dict[str, Any], data: Mapping[str, Any]) -> Item:
        update = "id" in payload
        client_id = key_id = False
        keys = unique_keys(payload, self.schema)
        if not update and self.upsert and stream in self.deduped and (pk_id := self._key_id(stream, data)):
            # Append + Deduped: one record per primary key, even when its email or domain changes.
            payload["id"] = pk_id
            keys.append(("id", pk_id))
            key_id = True
        elif not update and (not self.upsert or not keys):
            # Create, or upsert with no unique value to match on: a deterministic id makes retries and re-runs
            # land on the same record instead of creating it twice.
            payload["id"] = self._client_id(stream, state, data, payload)
            keys.append(("id", payload["id"]))  # uuid5 text is lower-case, as unique_keys gives ids
            client_id = True
        size = len(orjson.dumps(payload)) + 1  # + the comma between records in the array
        return Item(
            self._seq,
            stream,
            state.position,
            payload,
            frozenset(keys),
            size,
            update,
            client_id,
            key_id,
            self._is_partial(payload),
            data,
        )

    def _client_id(
        self, stream: str, state: _Stream, data: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> str:
        pk_id = self._key_id(stream, data)
        if pk_id:
            return pk_id
        # What is sent, not the raw record, whose Airbyte metadata columns change on every sync.
        content = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str).decode()
        first = str(
            uuid.uuid5(CLIENT_ID_NAMESPACE, f"{identity(self.scope, stream)}\x1fcontent\x1f{content}")
        )
        before = state.identical.count(first)  # keyed by the id's digest, not the content (occurrences.py)
        if not before:
            return first  # the first of its kind keeps the id earlier versions of the connector gave it
        return str(uuid.uuid5(CLIENT_ID_NAMESPACE, f"{first}\x1fcopy\x1f{before}"))

    def _key_id(self, stream: str, data: Mapping[str, Any]) -> str | None:
        """uuid5 of the stream's identity and its primary key's values; None without a complete key."""
        pk = self.primary_keys.get(stream)
        if not pk:
            return None
        values = [dig(data, path) for path in pk]
        if any(v is None for v in values):
            return None
        key = orjson.dumps(values).decode()
        return str(uuid.uuid5(CLIENT_ID_NAMESPACE, f"{identity(self.scope, stream)}\x1fpk\x1f{key}"))


def scope_note(scope: str) -> str:
    """Which identity scope the derived ids are in, for the log: what keeps two connections' records apart."""
    if scope:
        return f"derived ids are in identity scope '{scope}'"
    return (
        "derived ids are in no identity scope (the stream's name and namespace alone): another connection that "
        "sends a stream of this name with the same keys into this workspace matches these records; set "
        "identity_scope to keep them apart"
    )


def _match_paths(name: str, schema: ObjectSchema | None) -> list[str]:
    """A matching key field as the paths compared: a composite field by its primary sub-field, a full name by
    first and last name."""
    info = schema.fields.get(name) if schema is not None else None
    if info is not None and info.type == "FULL_NAME":
        return [f"{name}.firstName", f"{name}.lastName"]
    primary = PRIMARY_SUBFIELD.get(info.type) if info is not None else None
    return [f"{name}.{primary}" if primary else name]


def matching_rule(
    mapper: Mapper, schema: ObjectSchema | None, upsert: bool, pk_text: str, deduped: bool
) -> str:
    """Which key a record is matched on in Twenty, for a stream with this primary key (`pk_text`, "" for none)
    and sync mode: the write log says it per stream, check for the two kinds of stream."""
    mapped = {m.field for m in mapper.mapping}
    paths = [p for p in (schema.unique_paths if schema else ("id",)) if p != "id"]
    unique = [p for p in paths if p in mapped] if mapped else paths
    if "id" in mapped:
        return "records update the Twenty record whose id is in the mapped id column"
    if not upsert:
        source = f"the primary key ({pk_text})" if pk_text else "the record's content"
        return f"upsert is off: records are created, with ids derived from {source}, so a retry is recognised"
    if pk_text and deduped:
        then = f", then on {', '.join(unique)}" if unique else ""
        return f"one Twenty record per primary key ({pk_text}): matched on an id derived from it{then}"
    if unique:
        return f"matched on {', '.join(unique)} (the stream is not append_dedup with a primary key)"
    source = f"the primary key ({pk_text})" if pk_text else "the record's content"
    return f"no unique field is mapped: records are created, with ids derived from {source}"
