"""One batch's fate, on a pool thread: check that updated ids exist, keep what a partial LINKS/EMAILS write would
wipe, send, and when Twenty refuses, find out why: shrink to the server's maximum, recognise records an earlier
attempt already stored, or split the batch until each bad record stands alone. It only calls Twenty and returns a
result; the writer does the bookkeeping.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from destination_twenty.errors import ConfigError, DataError
from destination_twenty.mapping.keys import alone_filter, fits_in_a_list, unique_keys
from destination_twenty.mapping.relations import (
    Plan,
    Resolver,
    describe_ambiguous,
    describe_missing,
    target_row_id,
)
from destination_twenty.mapping.schema import ObjectSchema
from destination_twenty.mapping.written import WrittenKeys
from destination_twenty.twenty.capabilities import NEITHER
from destination_twenty.twenty.client import TwentyClient
from destination_twenty.write import operations
from destination_twenty.write.items import Item, Rejection
from destination_twenty.write.tally import Counts

KNOWN_IDS_KEPT = (
    200_000  # ids known to exist, so a record updated twice in a sync is read once (~20 MB at most)
)
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
        resolver: Resolver | None = None,  # shared by every route of the sync (routes.py)
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
            (resolver or Resolver(client, self.written)) if relations and relations.lookups else None
        )
        for lookup in relations.lookups if relations else ():
            self.written.watch(lookup.target, lookup.path)
        self._junction = relations.junction if relations else None
        self._known: OrderedDict[str, None] = OrderedDict()  # ids read or written in this sync, oldest first
        self._known_lock = threading.Lock()
        # LINKS and EMAILS fields are replaced whole by Twenty (a link's label and secondary links vanish when only
        # its URL is sent), so a partial write of one is completed from the stored record first.
        self._wiped_whole = {
            name: f.type
            for name, f in (schema.fields.items() if schema else ())
            if f.type in ("LINKS", "EMAILS")
        }

    def is_partial(self, payload: Mapping[str, Any]) -> bool:
        """Does this payload send part of a field that Twenty replaces whole?"""
        return any(
            isinstance(value, dict) and _is_partial(self._wiped_whole[top], value)
            for top, value in payload.items()
            if top in self._wiped_whole
        )

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
                if (i.partial and i.payload["id"] not in stored) or not self._is_known(i.payload["id"])
            ]
            if unknown:
                stored = {**stored, **self.client.records_by_id(self.plural, unknown)}
                self._remember(stored)
            exists = {
                i.payload["id"]
                for i in updates
                if i.payload["id"] in stored or self._is_known(i.payload["id"])
            }
            for item in updates:
                if item.payload["id"] not in exists:
                    reason = f"no record with id {item.payload['id']} exists in {self.plural} to update"
                    self._reject(result, item, reason, "id")
            items = [i for i in items if not i.update or i.payload["id"] in exists]
        if self._dry_run:
            self._predict(items, result)
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
        """Resolve every relation key of the batch at once; a key matching nothing (or two records) rejects
        its record, unless the mapping asks to leave that link unset."""
        wanted = [(lookup, key) for item in items for lookup, key in item.lookups]
        if not wanted:
            return items
        found = self._resolver.ids(wanted)
        kept: list[Item] = []
        unset: list[tuple[Item, str]] = []
        for item in items:
            reason = field = None
            targets = []
            for lookup, key in item.lookups:
                ids = found.get((lookup.target, lookup.path, key), ())
                result.counts.links[(item.stream, "written" if len(ids) == 1 else "unresolved")] += 1
                if len(ids) == 1:
                    if lookup.is_target:
                        targets.append((lookup, ids[0]))
                    else:
                        item.payload[lookup.join_column] = ids[0]
                elif not ids and lookup.leave_unset:
                    unset.append((item, describe_missing(lookup, key)))
                elif reason is None:
                    reason = (
                        describe_missing(lookup, key) if not ids else describe_ambiguous(lookup, key, ids)
                    )
                    field = lookup.field
            if reason is not None:
                self._reject(result, item, reason, field)
            else:
                item.targets = targets
                kept.append(item)
        if unset:
            item, why = unset[0]
            result.warnings.append(
                f"{len(unset)} records of stream '{item.stream}' were written without a link, as their mapping "
                f"asks (if_not_found: leave_unset); first: record {item.position}, {why}."
            )
        return kept

    def _write_targets(self, result: BatchResult) -> None:
        """Junction rows (noteTargets / taskTargets) for the notes and tasks just written, with ids derived from
        what they link, so a re-sync or a resumed sync upserts the same rows instead of adding more."""
        junction = self._junction
        if junction is None:
            return
        rows = [
            {
                "id": target_row_id(owner_id, lookup, target_id),
                junction.owner_column: owner_id,
                lookup.join_column: target_id,
            }
            for owner_id, item in result.linked
            for lookup, target_id in item.targets
        ]
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

    def _predict(self, items: list[Item], result: BatchResult) -> None:
        """Dry run: one read per batch finds the records each item would match, as Twenty's upsert would."""
        rows: list[dict[str, Any]] = []
        for expression in _lookup_filters([i for i in items if not i.update]):
            rows.extend(self.client.find(self.plural, expression))
        by_id = {row.get("id"): row for row in rows}
        by_key = {key: row for row in rows for key in unique_keys(row, self.schema) if key[0] != "id"}
        counts = result.counts
        for item in items:
            if item.update:
                counts.updated[item.stream] += 1
                continue
            own = by_id.get(item.payload.get("id"))
            other = next((by_key[k] for k in item.keys if k in by_key), None)
            if self.upsert:
                (counts.updated if own or other else counts.created)[item.stream] += 1
            elif own is not None and item.client_id:
                difference = _difference(item.payload, own)
                if difference is None:
                    counts.unchanged[item.stream] += 1
                else:
                    self._reject(result, item, _new_version(item, difference), difference[0])
            elif other is not None:
                keys = ", ".join(f"{k}={v}" for k, v in sorted(item.keys) if k != "id")
                self._reject(
                    result, item, f"a record with the same unique value ({keys}) already exists in Twenty"
                )
            else:
                counts.created[item.stream] += 1

    def _is_known(self, record_id: str) -> bool:
        with self._known_lock:
            return record_id in self._known

    def _remember(self, ids: Iterable[Any]) -> None:
        with self._known_lock:
            for record_id in ids:
                if isinstance(record_id, str):
                    self._known[record_id] = None
                    self._known.move_to_end(record_id)
            while len(self._known) > KNOWN_IDS_KEPT:
                self._known.popitem(last=False)

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
        """Fill the sub-fields a partial LINKS/EMAILS write would wipe with the values Twenty holds now.

        Costs one read for the records not already read (update by id reads them anyway)."""
        if not items:
            return
        rows = list(stored.values())
        unknown = [i for i in items if i.payload.get("id") not in stored]
        for expression in _lookup_filters(unknown):
            rows.extend(self.client.find(self.plural, expression))
        by_id = {row.get("id"): row for row in rows}
        by_key = {key: row for row in rows for key in unique_keys(row, self.schema) if key[0] != "id"}
        for item in items:
            row = by_id.get(item.payload.get("id")) or next(
                (by_key[k] for k in item.keys if k in by_key), None
            )
            if row is None:
                continue  # a new record: nothing stored to keep
            for top, value in item.payload.items():
                old = row.get(top)
                if top in self._wiped_whole and isinstance(value, dict) and isinstance(old, dict):
                    for sub, kept in old.items():
                        if sub not in value and kept not in (None, "", [], {}):
                            value[sub] = kept

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
        self._tally(items, rows, upsert, result, retried)
        self.written.wrote(self.plural, rows, self._unique_paths)

    def _settle_duplicates(self, items: list[Item], upsert: bool, result: BatchResult, retried: bool) -> None:
        """Some ids we chose exist already. Each such record was stored by this very request (its answer lost
        and the request retried), by an earlier sync (a resume, a re-run), or it is a new version of a record
        with the same primary key, which create mode must not overwrite. Send the rest again."""
        stored = self.client.records_by_id(self.plural, [i.payload["id"] for i in items if i.client_id])
        remaining = []
        for item in items:
            row = stored.get(item.payload["id"]) if item.client_id else None
            if row is None:
                remaining.append(item)
                continue
            difference = _difference(item.payload, row)
            if difference is not None:
                self._reject(result, item, _new_version(item, difference), difference[0])
            elif retried:
                result.counts.created[item.stream] += 1  # our own attempt stored it; only its answer was lost
            else:
                result.counts.unchanged[item.stream] += 1
        self._send_chunk(remaining, upsert, result, resolved=True, first=False)

    def _tally(
        self,
        items: list[Item],
        rows: list[dict[str, Any]],
        upsert: bool,
        result: BatchResult,
        retried: float | None = None,
    ) -> None:
        # Twenty answers updates first, then inserts, whatever the input order, so rows are matched to records
        # by id, then by unique key (a record matched on its email comes back with the stored record's id), and
        # an update is told from an insert by createdAt differing from updatedAt.
        by_id = {i.payload["id"]: i for i in items if "id" in i.payload}
        by_key = {k: i for i in items for k in i.keys if k[0] != "id"}
        unclaimed = {id(i): i for i in items}
        counts = result.counts
        adopted: list[tuple[Item, str]] = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            item = by_id.get(row.get("id"))
            if item is None or id(item) not in unclaimed:
                item = next(
                    (
                        by_key[k]
                        for k in unique_keys(row, self.schema)
                        if k in by_key and id(by_key[k]) in unclaimed
                    ),
                    None,
                )
                if item is not None and item.key_id:
                    adopted.append((item, str(row.get("id"))))
            if item is None:
                item = next((i for i in unclaimed.values() if "id" not in i.payload), None)
            if item is None:
                continue
            del unclaimed[id(item)]
            if item.targets and isinstance(row.get("id"), str):
                result.linked.append((row["id"], item))
            changed = upsert and row.get("createdAt") != row.get("updatedAt")
            if changed and retried is not None and _created_by_lost_attempt(row, retried):
                changed = False
            (counts.updated if changed else counts.created)[item.stream] += 1
        for item in unclaimed.values():  # accepted, though the answer did not list them
            counts.created[item.stream] += 1
        if adopted:
            item, stored_id = adopted[0]
            result.warnings.append(
                f"{len(adopted)} records of stream '{item.stream}' matched records already in Twenty by a unique "
                f"field rather than by their primary key (first: record {item.position} updated {stored_id}); "
                "they were updated. Those records were not created from this stream's key, so if that unique "
                "value changes in the source, a later sync cannot find them and creates new ones: map the key to "
                "a unique field in Twenty to make the match permanent."
            )

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


def _created_by_lost_attempt(row: Mapping[str, Any], retried: float) -> bool:
    """After a retried upsert, a row created at most the retry's duration (from our first send to the answer, so
    no slack is needed beyond the clock's resolution) before its update was
    created by our own first attempt, whose answer was lost: by Twenty's clock alone, never ours."""
    created, updated = (_instant(str(row.get(k) or "")) for k in ("createdAt", "updatedAt"))
    if created is None or updated is None:
        return False
    return 0 <= (updated - created).total_seconds() <= retried + 0.01


def _new_version(item: Item, difference: tuple[str, Any, Any]) -> str:
    """Why create mode refuses a record whose id (from the stream's primary key) is stored with other values."""
    field, sent, held = difference
    return (
        f"a record with this id ({item.payload['id']}, from the stream's primary key) is already in Twenty with "
        f"{field} {held!r}, and this record has {sent!r}; with upsert off a stored record is never changed: turn "
        "upsert on to update it"
    )


def _difference(sent: Any, held: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first field where what is stored differs from what is sent (None if it holds all of it), comparing as
    loosely as Twenty stores: text case-insensitively, numbers by value, dates by instant; extra stored
    sub-fields are ignored."""
    if isinstance(sent, Mapping):
        if not isinstance(held, Mapping):
            return (path or "the record"), sent, held
        for key, value in sent.items():
            if key == "id" and not path:
                continue
            found = _difference(value, held.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if _same_scalar(sent, held):
        return None
    if isinstance(sent, list) and isinstance(held, list) and len(sent) == len(held):
        if all(_difference(a, b, path) is None for a, b in zip(sent, held, strict=True)):
            return None
    return path, sent, held


def _same_scalar(sent: Any, held: Any) -> bool:
    if sent == held and type(sent) is type(held):
        return True
    if isinstance(sent, bool) or isinstance(held, bool):
        return False
    if isinstance(sent, (int, float)) and isinstance(held, (int, float)):
        return float(sent) == float(held)
    if isinstance(sent, str) and isinstance(held, str):
        if sent.strip().rstrip("/").casefold() == held.strip().rstrip("/").casefold():
            return True  # Twenty lower-cases emails and drops a link's trailing "/"
        return _instant(sent) is not None and _instant(sent) == _instant(held)
    if isinstance(sent, str) and isinstance(held, (int, float)):
        try:
            return float(sent) == float(held)
        except ValueError:
            return False
    return False


def _instant(text: str) -> datetime | None:
    if len(text) < 10 or not text[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_partial(kind: str, value: Mapping[str, Any]) -> bool:
    """Would Twenty wipe stored sub-fields? LINKS lose whatever is not sent; EMAILS lose primaryEmail when only
    additionalEmails is sent (additionalEmails survive a write of primaryEmail alone, as recorded)."""
    if kind == "LINKS":
        return len(value) < 3  # primaryLinkUrl, primaryLinkLabel, secondaryLinks
    return "primaryEmail" not in value


MAX_FILTER_CHARS = 6000  # keeps lookup URLs well under common 8 KB limits


def _lookup_filters(items: Sequence[Item]) -> list[str]:
    """REST filters finding the stored records of `items` by id or unique key, split to keep URLs short."""
    values: dict[str, list[str]] = {}
    for item in items:
        if "id" in item.payload:
            values.setdefault("id", []).append(str(item.payload["id"]))
        for path, value in item.keys:
            if path != "id":
                values.setdefault(path, []).append(value)
    predicates, alone = [], []
    for path, found in values.items():
        plain = [v for v in found if fits_in_a_list(v)]
        for start in range(0, len(plain), 50):  # a few `in` lists rather than one very long one
            predicates.append(f"{path}[in]:[{','.join(plain[start : start + 50])}]")
        safe = set(plain)
        alone += [alone_filter(path, v) for v in dict.fromkeys(v for v in found if v not in safe)]
    filters, current = [], []
    for predicate in predicates:
        if current and len(",".join(current)) + len(predicate) > MAX_FILTER_CHARS:
            filters.append(current)
            current = []
        current.append(predicate)
    if current:
        filters.append(current)
    return [group[0] if len(group) == 1 else f"or({','.join(group)})" for group in filters] + alone


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
