"""One batch's fate, on a pool thread: check that updated ids exist, keep what a partial LINKS/EMAILS write would
wipe, send, and when Twenty refuses, find out why: shrink to the server's maximum, recognise records an earlier
attempt already stored, or split the batch until each bad record stands alone. It only calls Twenty and returns a
result; the writer does the bookkeeping.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from destination_twenty.errors import ConfigError, DataError
from destination_twenty.mapping.relations import Plan
from destination_twenty.mapping.schema import ObjectSchema
from destination_twenty.twenty.capabilities import NEITHER
from destination_twenty.twenty.client import TwentyClient
from destination_twenty.write import connects, links, operations
from destination_twenty.write.composites import Composites
from destination_twenty.write.dry_run import predict
from destination_twenty.write.items import Item, Rejection
from destination_twenty.write.known_ids import KnownIds
from destination_twenty.write.reconcile import count_answer, read_stored, settle_duplicates
from destination_twenty.write.tally import Counts
from destination_twenty.write.written import WrittenKeys

_MAX_RECORDS = re.compile(r"Maximum number of records to upsert is (\d+)")
# A unique value already stored, in the words of each era: "A duplicate entry was detected" (today), "Duplicate
# Emails with value … Please set a unique one." and "Record already exists" (v1.3 line), Postgres's own (older).
_DUPLICATE = re.compile(
    r"duplicate entry|record already exists|duplicate .+ with value|duplicate key value violates unique", re.I
)
# The v1.3 line's REST batch create ignores ?upsert=true and answers an existing record with these.
_UPSERT_IGNORED = re.compile(r"record already exists|duplicate .+ with value .+please set a unique one", re.I)
# That line's GraphQL create<Plural> writes every record it is sent but lists at most 60 in its answer: it reads
# them back with .take(QUERY_MAX_RECORDS) (graphql-query-create-many-resolver.service.ts, fetchUpsertedRecords;
# twenty-shared QueryMaxRecords.ts = 60). A record left out of the answer cannot be told created from updated,
# nor its stored id known, so batches over GraphQL hold no more than that.
GRAPHQL_ANSWER_MAX = 60
_CONNECT = object()  # a link left to the server's connect, in place of an id while links are attached


class _AnswerWouldBeCut(Exception):
    """A batch bigger than a GraphQL answer lists: nothing was sent; send it again in parts (the limit is lower)."""


@dataclass
class BatchResult:
    counts: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # LOG lines, emitted by the main thread in order
    warnings: list[str] = field(default_factory=list)  # WARN lines, likewise
    # What ended this batch early (an outage past the retry budget, a bug); what it wrote before is counted.
    error: Exception | None = None
    complete: bool = True  # False when the sync's end stopped it before every record was sent
    linked: list = field(default_factory=list)  # (stored id, item) of written records with targets to link
    links: int = 0  # junction rows written


class BatchSender:
    def __init__(
        self,
        client: TwentyClient,
        plural: str,
        schema: ObjectSchema | None,
        upsert: bool,
        batch_size: int,
        stop: threading.Event,
        fail_fast: bool,
        dry_run: bool = False,
        relations: Plan | None = None,
        written: WrittenKeys | None = None,
        resolver: links.Resolver | None = None,  # shared by every route of the sync (routes.py)
        connector: connects.Connects | None = None,  # links set by connect where the server can (connects.py)
    ):
        self.client = client
        self.plural = plural
        self.schema = schema
        self.upsert = upsert
        self.limit = batch_size  # shrinks when the server says its maximum is lower; read by the writer too
        self._limit_lock = threading.Lock()
        # Set when the sync is over (a rejection without partial success, an outage): no batch sends or splits
        # further, so a failing sync ends in seconds with what landed counted.
        self._stop = stop
        self._fail_fast = fail_fast and not dry_run
        self._dry_run = dry_run  # read, never write: predict what each record would do
        self.dry_run = dry_run
        self._via_graphql = False  # set when the server's REST batch create turns out to ignore upsert
        self._graphql_lock = threading.Lock()
        self._selection = _selection(schema)
        self.selection = self._selection  # what a GraphQL answer must hold to pair rows with records
        # What this sync writes is remembered by its unique keys, so a relation to it resolves without a call
        # (the writers of every stream of a sync share the same WrittenKeys, routes.py).
        self.written = written if written is not None else WrittenKeys()
        self._unique_paths = list(schema.unique_paths) if schema else []
        self._resolver = (
            (resolver or links.Resolver(client, self.written)) if relations and relations.lookups else None
        )
        for lookup in relations.lookups if relations else ():
            self.written.watch(lookup.target, lookup.path)
        self._junction = relations.junction if relations else None
        self._connects = connector if connector is not None else connects.Connects(client, enabled=False)
        self._known = KnownIds()  # ids read or written in this sync
        # A partial LINKS/EMAILS write is completed from the stored record first: Twenty replaces them whole.
        self._composites = Composites(schema)

    def is_partial(self, payload: Mapping[str, Any]) -> bool:
        """Does this payload send part of a field that Twenty replaces whole (composites.py)?"""
        return self._composites.is_partial(payload)

    def write(self, items: list[Item]) -> BatchResult:
        result = BatchResult()
        try:
            self._write(items, result)
        except Exception as exc:  # noqa: BLE001 - travels in the result, so what landed before is still counted
            result.error = exc
        return result

    def _write(self, items: list[Item], result: BatchResult) -> None:
        deletes = [i for i in items if i.action == "delete"]
        for item in items:
            if item.action == "ignore":  # a source delete this route ignores: done with, nothing sent
                result.counts.ignored[item.stream] += 1
        items = [i for i in items if i.action in ("write", "update")]
        if self._resolver is not None:
            items = self._link(items, result)
        stored: dict[str, dict[str, Any]] = {}
        # Update-only records, and upserts on a data-activation matching key: find what each matches first.
        to_match = [i for i in items if not i.update and (i.action == "update" or (i.match and self.upsert))]
        if to_match:
            matched, stored = operations.prepare_updates(self, to_match, result)
            keep, asked = {id(i) for i in matched}, {id(i) for i in to_match}
            items = [i for i in items if id(i) in keep or id(i) not in asked]
        updates = [i for i in items if i.update]
        if updates:
            # One read per batch for the ids not already known to exist; a partial composite needs the row.
            unknown = [
                i.payload["id"]
                for i in updates
                if (i.partial and i.payload["id"] not in stored) or i.payload["id"] not in self._known
            ]
            if unknown:
                stored = {**stored, **self.client.records_by_id(self.plural, unknown)}
                self._known.add(stored)
            exists = {
                i.payload["id"]
                for i in updates
                if i.payload["id"] in stored or i.payload["id"] in self._known
            }
            for item in updates:
                if item.payload["id"] not in exists:
                    reason = f"no record with id {item.payload['id']} exists in {self.plural} to update"
                    self._reject(result, item, reason, "id")
            items = [i for i in items if not i.update or i.payload["id"] in exists]
        if self._dry_run:
            # One read per batch finds the records each item would match, as Twenty's upsert would.
            found = read_stored(self.client, self.plural, self.schema, [i for i in items if not i.update])
            predict(items, found, self.upsert, result.counts, partial(self._reject, result))
            if deletes:
                operations.delete(self, deletes, result)
            return
        if self.upsert:
            self._complete_partial_composites([i for i in items if i.partial], stored)
            self._send(items, True, result)
        else:
            updates = [i for i in items if i.update]
            self._complete_partial_composites([i for i in updates if i.partial], stored)
            self._send(updates, True, result)  # an update by id is an upsert keyed on an id known to exist
            self._send([i for i in items if not i.update], False, result)
        if result.linked:
            self._write_targets(result)
        if deletes:
            operations.delete(self, deletes, result)

    def _link(self, items: list[Item], result: BatchResult) -> list[Item]:
        """Resolve every relation key of the batch at once, and set each item's links."""
        wanted = [(lookup, key) for item in items for lookup, key in item.lookups]
        if not wanted:
            return items
        # A key the sync does not know yet is linked by connect inside the write where the server can, instead
        # of looked up (connects.py); a batch whose connect misses is sent again with lookups (_unconnect).
        connected: set = set()
        if not self._dry_run:
            self._resolver.prepare(lookup for lookup, _ in wanted)  # a small target read whole costs no probe
            known = self._resolver.known_ids(wanted)
            connected = {
                (lookup, key)
                for lookup, key in wanted
                if (lookup.target, lookup.path, key) not in known
                and self._connects.usable(self.plural, lookup)
            }
        found = self._resolver.ids([w for w in wanted if w not in connected])
        found.update({(lk.target, lk.path, key): (_CONNECT,) for lk, key in connected})
        for item in items:  # the summary's links written and finally unresolved, per stream
            for lookup, key in item.lookups:
                ids = found.get((lookup.target, lookup.path, key), ())
                result.counts.links[(item.stream, "written" if len(ids) == 1 else "unresolved")] += 1
        kept = links.attach(items, found, partial(self._reject, result), result.warnings)
        for item in kept:
            for lookup, key in item.lookups:
                if item.payload.get(lookup.join_column) is _CONNECT:
                    del item.payload[lookup.join_column]
                    item.payload[lookup.relation] = connects.where(lookup.path, key)
        return kept

    def _unconnect(
        self, items: list[Item], upsert: bool, result: BatchResult, resolved: bool, message: str
    ) -> None:
        """A batch carrying connects was refused (a key matching nothing fails the whole call, before any
        insert): look its keys up in one read, set the ids, reject (or leave unset) the records whose target is
        missing, and send the rest again, connect-free, through the usual splitting."""
        taken = connects.strip(items)
        self._connects.refused(self.plural, [lookup for _, lookup, _ in taken], message)
        found = self._resolver.ids([(lookup, key) for _, lookup, key in taken])
        for item, lookup, key in taken:  # counted as written when sent as a connect; now as found
            result.counts.links[(item.stream, "written")] -= 1
            ids = found.get((lookup.target, lookup.path, key), ())
            result.counts.links[(item.stream, "written" if len(ids) == 1 else "unresolved")] += 1
        found.update(self._resolver.known_ids([w for i in items for w in i.lookups]))
        keep = {id(i) for i in links.attach(items, found, partial(self._reject, result), result.warnings)}
        self._send_chunk([i for i in items if id(i) in keep], upsert, result, resolved, first=False)

    def _write_targets(self, result: BatchResult) -> None:
        """The junction rows of the notes and tasks just written (links.py), in chunks."""
        junction = self._junction
        if junction is None:
            return
        rows = links.target_rows(junction, result.linked)
        start = 0
        while start < len(rows):
            chunk = rows[start : start + self.limit]
            try:
                self._upsert(junction.plural, junction.plural[:-1], chunk, ["id"], result)
            except _AnswerWouldBeCut:
                continue  # the limit is lower now: the same rows again, in a smaller chunk
            except DataError as exc:
                result.warnings.append(
                    f"{len(chunk)} links in {junction.plural} could not be written; their notes or tasks are "
                    f"stored without them: {exc.message}"
                )
            else:
                result.links += len(chunk)
            start += len(chunk)

    def _upsert(
        self,
        plural: str,
        singular: str,
        rows: list[dict[str, Any]],
        selection: list[str],
        result: BatchResult,
        attempts: dict[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """A batch upsert: over REST, or over GraphQL once the server turned out to ignore REST's ?upsert=true
        (its duplicate errors on a record that exists say so; then this batch is sent again that way)."""
        if not self._via_graphql:
            try:
                return self.client.create_many(plural, rows, True, attempts)
            except DataError as exc:
                if not _UPSERT_IGNORED.search(exc.message):
                    raise
                self._switch_to_graphql(result)  # raises when the server cannot upsert at all
        if len(rows) > GRAPHQL_ANSWER_MAX:
            raise _AnswerWouldBeCut  # self.limit is at most GRAPHQL_ANSWER_MAX by now
        return self.client.graphql_create_many(singular, plural, rows, selection)

    def _switch_to_graphql(self, result: BatchResult) -> None:
        with self._graphql_lock:
            if self._via_graphql:
                return
            if self.schema is None or not self.client.graphql_upsert_works(
                self.schema.name_singular, self.plural
            ):
                raise ConfigError(NEITHER)
            with self._limit_lock:
                self.limit = min(self.limit, GRAPHQL_ANSWER_MAX)
            self._via_graphql = True
        result.notes.append(
            "This Twenty server's REST batch create ignores upsert (the v1.3 line): upserts go through its GraphQL "
            "create mutation (same matching, same per-record errors) for the rest of this sync, at most "
            f"{GRAPHQL_ANSWER_MAX} records per call, as many as its answer lists, so each is counted."
        )

    def _reject(
        self,
        result: BatchResult,
        item: Item,
        reason: str,
        field: str | None = None,
        message: str | None = None,
    ) -> None:
        result.rejections.append(
            Rejection(item.seq, item.stream, item.position, reason, field, data=item.data, message=message)
        )
        if self._fail_fast:
            self._stop.set()

    def _complete_partial_composites(self, items: list[Item], stored: dict[str, dict[str, Any]]) -> None:
        """Costs one read for the records not already read (update by id reads them anyway)."""
        if not items:
            return
        unknown = [i for i in items if i.payload.get("id") not in stored]
        found = read_stored(self.client, self.plural, self.schema, unknown, list(stored.values()))
        self._composites.complete(items, found)

    def _send(self, items: list[Item], upsert: bool, result: BatchResult, first: bool = True) -> None:
        start = 0
        while start < len(items):
            limit = self.limit
            self._send_chunk(items[start : start + limit], upsert, result, first=first)
            start += limit

    def _send_chunk(
        self, items: list[Item], upsert: bool, result: BatchResult, resolved: bool = False, first: bool = True
    ) -> None:
        if not items:
            return
        if not first and self._stop.is_set():
            # The sync is over: a batch in flight gets its one request, but no split or re-send. What is not
            # sent is not counted, and the platform sends it again.
            result.complete = False
            return
        try:
            attempts: dict[str, float] = {}
            payloads = [i.payload for i in items]
            if upsert:
                singular = self.schema.name_singular if self.schema else ""
                rows = self._upsert(self.plural, singular, payloads, self._selection, result, attempts)
            else:
                rows = self.client.create_many(self.plural, payloads, False, attempts)
        except _AnswerWouldBeCut:
            self._send(items, upsert, result, first=False)
            return
        except DataError as exc:
            maximum = _MAX_RECORDS.search(exc.message)
            if maximum and len(items) > 1:
                self._shrink(int(maximum.group(1)), len(items), result)
                self._send(items, upsert, result, first=False)
                return
            if any(connects.is_connect(i.payload.get(lk.relation)) for i in items for lk, _ in i.lookups):
                self._unconnect(items, upsert, result, resolved, exc.message)
                return
            if not resolved and _DUPLICATE.search(exc.message) and any(i.client_id for i in items):
                self._settle_duplicates(items, upsert, result, retried=exc.attempts > 1)
                return
            if len(items) == 1:
                self._reject(result, items[0], _explain(exc, items[0]), message=exc.message)
                return
            # One bad record fails the whole batch: split it until the bad ones stand alone.
            middle = len(items) // 2
            self._send_chunk(items[:middle], upsert, result, resolved, first=False)
            self._send_chunk(items[middle:], upsert, result, resolved, first=False)
            return
        retried = attempts["seconds"] if attempts.get("count", 1) > 1 else None
        count_answer(items, rows, upsert, self.schema, result.counts, result.linked, result.warnings, retried)
        self.written.wrote(self.plural, rows, self._unique_paths)

    def _settle_duplicates(self, items: list[Item], upsert: bool, result: BatchResult, retried: bool) -> None:
        """Some ids we chose exist already: read them, count or reject those (reconcile.py), send the rest."""
        stored = self.client.records_by_id(self.plural, [i.payload["id"] for i in items if i.client_id])
        remaining = settle_duplicates(items, stored, retried, result.counts, partial(self._reject, result))
        self._send_chunk(remaining, upsert, result, resolved=True, first=False)

    def _shrink(self, server_max: int, tried: int, result: BatchResult) -> None:
        with self._limit_lock:
            # A maximum at or above what was refused contradicts the refusal: halve, to make progress anyway.
            new = max(1, server_max if server_max < tried else tried // 2)
            if new < self.limit:
                self.limit = new
                result.notes.append(
                    f"Twenty accepts at most {server_max} records per call; batch size is now {new} for the rest "
                    "of this sync."
                )


def _selection(schema: ObjectSchema | None) -> list[str]:
    """What a GraphQL upsert returns: enough to tally rows as the REST answer does (id, timestamps, keys)."""
    fields = ["id", "createdAt", "updatedAt"]
    for path in schema.unique_paths if schema else ():
        head, _, sub = path.partition(".")
        if sub:
            fields.append(f"{head} {{ {sub} }}")
        elif head != "id":
            fields.append(head)
    return fields


def _explain(exc: DataError, item: Item) -> str:
    """Twenty's reason, made specific where Twenty's own words are vague."""
    message = exc.message
    if _DUPLICATE.search(message):
        keys = ", ".join(f"{k}={v}" for k, v in sorted(item.keys) if k != "id") or "its id"
        action = "already exists" if not item.update else "conflicts with another record"
        return f"a record with the same unique value ({keys}) {action} in Twenty ({message})"
    if "foreign key constraint" in message:
        return f"a relation id points to no existing record ({message})"
    return message
