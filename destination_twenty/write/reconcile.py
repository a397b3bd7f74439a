"""Reconciling what Twenty holds or answered with the records sent: which stored row is which item's (by id,
then by unique key), how an answer is counted (created, updated), whether a stored record holds what is sent, and
what an id conflict means (our own lost attempt, an earlier sync, a new version create mode must not write).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from destination_twenty.mapping.dates import parse_moment
from destination_twenty.mapping.keys import same_text, unique_keys
from destination_twenty.mapping.schema import COMPOSITE_SUBFIELDS, ObjectSchema
from destination_twenty.twenty.client import TwentyClient
from destination_twenty.twenty.filters import any_of, graphql_any_of
from destination_twenty.write.items import Item
from destination_twenty.write.tally import Counts

_RELATION_TYPES = ("RELATION", "MORPH_RELATION")
Reject = Callable[..., None]  # (item, reason, field=None, message=None)


@dataclass
class Stored:
    """Stored rows of a batch's items, by id and by unique key (the id of a row matched on its email is the
    stored record's, not the item's)."""

    by_id: dict[Any, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def of(self, item: Item) -> dict[str, Any] | None:
        """The stored row the item would update: by its id, else by one of its unique keys."""
        return self.by_id.get(item.payload.get("id")) or self.by_key_of(item)

    def by_key_of(self, item: Item) -> dict[str, Any] | None:
        return next((self.by_key[k] for k in item.keys if k in self.by_key), None)


def read_stored(
    client: TwentyClient,
    plural: str,
    schema: ObjectSchema | None,
    items: Sequence[Item],
    rows: Sequence[dict[str, Any]] = (),
) -> Stored:
    """The stored records of `items`, found by id or unique key, with `rows` already read: one GET where one
    safe URL holds the batch's keys, else one GraphQL query (several GETs on a server without one)."""
    found = list(rows)
    expressions = lookup_filters(items)
    read = None
    if len(expressions) > 1 and schema is not None:
        selection = stored_selection(schema, items)
        read = client.find_where(
            plural, schema.name_singular, graphql_any_of(lookup_values(items)), selection
        )
    if read is not None:
        found.extend(read)
    else:
        for expression in expressions:
            found.extend(client.find(plural, expression))
    return Stored(
        {row.get("id"): row for row in found},
        {key: row for row in found for key in unique_keys(row, schema) if key[0] != "id"},
    )


def lookup_filters(items: Sequence[Item]) -> list[str]:
    """REST filters finding the stored records of `items` by id or unique key, split to keep URLs short."""
    return any_of(lookup_values(items))


def lookup_values(items: Sequence[Item]) -> dict[str, list[str]]:
    """The ids and unique keys (normalised as mapping/keys.py does) of `items`, by field path."""
    values: dict[str, list[str]] = {}
    for item in items:
        if "id" in item.payload:
            values.setdefault("id", []).append(str(item.payload["id"]))
        for path, value in item.keys:
            if path != "id":
                values.setdefault(path, []).append(value)
    return values


def stored_selection(schema: ObjectSchema, items: Sequence[Item]) -> list[str]:
    """What a GraphQL read must select to stand for a REST row here: the id, timestamps, the unique keys and
    every field the items send, a composite with all its sub-fields (composites.py keeps those it leaves out)."""
    heads = dict.fromkeys(["id", "createdAt", "updatedAt"])
    heads.update(dict.fromkeys(path.partition(".")[0] for path in schema.unique_paths))
    for item in items:
        heads.update(dict.fromkeys(item.payload))
    fields = []
    for head in heads:
        info = schema.fields.get(head)
        if info is not None and info.type in _RELATION_TYPES:
            continue  # a nested relation input, not a stored value
        subfields = COMPOSITE_SUBFIELDS.get(info.type) if info is not None else None
        fields.append(f"{head} {{ {' '.join(subfields)} }}" if subfields else head)
    return fields


def count_answer(
    items: list[Item],
    rows: list[dict[str, Any]],
    upsert: bool,
    schema: ObjectSchema | None,
    counts: Counts,
    linked: list,
    warnings: list[str],
    retried: float | None = None,
) -> None:
    """Count a write's answer: each row is paired with the item it stores, created or updated."""
    # Twenty answers updates first, then inserts, whatever the input order, so rows are matched to records
    # by id, then by unique key (a record matched on its email comes back with the stored record's id), and
    # an update is told from an insert by createdAt differing from updatedAt.
    by_id = {i.payload["id"]: i for i in items if "id" in i.payload}
    by_key = {k: i for i in items for k in i.keys if k[0] != "id"}
    unclaimed = {id(i): i for i in items}
    adopted: list[tuple[Item, str]] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        item = by_id.get(row.get("id"))
        if item is None or id(item) not in unclaimed:
            item = next(
                (by_key[k] for k in unique_keys(row, schema) if k in by_key and id(by_key[k]) in unclaimed),
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
            linked.append((row["id"], item))
        changed = upsert and row.get("createdAt") != row.get("updatedAt")
        if changed and retried is not None and created_by_lost_attempt(row, retried):
            changed = False
        (counts.updated if changed else counts.created)[item.stream] += 1
    for item in unclaimed.values():  # accepted, though the answer did not list them
        counts.created[item.stream] += 1
    if adopted:
        item, stored_id = adopted[0]
        warnings.append(
            f"{len(adopted)} records of stream '{item.stream}' matched records already in Twenty by a unique "
            f"field rather than by their primary key (first: record {item.position} updated {stored_id}); "
            "they were updated. Those records were not created from this stream's key, so if that unique "
            "value changes in the source, a later sync cannot find them and creates new ones: map the key to "
            "a unique field in Twenty to make the match permanent."
        )


def settle_duplicates(
    items: list[Item], stored: Mapping[str, dict[str, Any]], retried: bool, counts: Counts, reject: Reject
) -> list[Item]:
    """Some ids we chose exist already (`stored`, by id). Each such record was stored by this very request (its
    answer lost and the request retried), by an earlier sync (a resume, a re-run), or it is a new version of a
    record with the same primary key, which create mode must not overwrite. The rest, to send again."""
    remaining = []
    for item in items:
        row = stored.get(item.payload["id"]) if item.client_id else None
        if row is None:
            remaining.append(item)
            continue
        found = difference(item.payload, row)
        if found is not None:
            reject(item, new_version(item, found), found[0])
        elif retried:
            counts.created[item.stream] += 1  # our own attempt stored it; only its answer was lost
        else:
            counts.unchanged[item.stream] += 1
    return remaining


def created_by_lost_attempt(row: Mapping[str, Any], retried: float) -> bool:
    """After a retried upsert, a row created at most the retry's duration (from our first send to the answer, so
    no slack is needed beyond the clock's resolution) before its update was
    created by our own first attempt, whose answer was lost: by Twenty's clock alone, never ours."""
    created, updated = (_instant(row.get(k)) for k in ("createdAt", "updatedAt"))
    if created is None or updated is None:
        return False
    return 0 <= (updated - created).total_seconds() <= retried + 0.01


def new_version(item: Item, found: tuple[str, Any, Any]) -> str:
    """Why create mode refuses a record whose id (from the stream's primary key) is stored with other values."""
    path, sent, held = found
    return (
        f"a record with this id ({item.payload['id']}, from the stream's primary key) is already in Twenty with "
        f"{path} {held!r}, and this record has {sent!r}; with upsert off a stored record is never changed: turn "
        "upsert on to update it"
    )


def difference(sent: Any, held: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first field where what is stored differs from what is sent (None if it holds all of it), comparing as
    loosely as Twenty stores: text case-insensitively, numbers by value, dates by instant; extra stored
    sub-fields are ignored."""
    if isinstance(sent, Mapping):
        if not isinstance(held, Mapping):
            return (path or "the record"), sent, held
        for key, value in sent.items():
            if key == "id" and not path:
                continue
            found = difference(value, held.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if _same_scalar(sent, held):
        return None
    if isinstance(sent, list) and isinstance(held, list) and len(sent) == len(held):
        if all(difference(a, b, path) is None for a, b in zip(sent, held, strict=True)):
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
        if same_text(sent, held):
            return True
        moment = _instant(sent)
        return moment is not None and moment == _instant(held)
    if isinstance(sent, str) and isinstance(held, (int, float)):
        try:
            return float(sent) == float(held)
        except ValueError:
            return False
    return False


def _instant(value: Any) -> datetime | None:
    """The instant an ISO 8601 text names (how Twenty answers dates, and how the mapper sends them), read as
    mapping/dates.py reads dates; None for any other value, so plain text is never compared as a date."""
    if not isinstance(value, str) or len(value) < 10 or not value[:4].isdigit():
        return None
    parsed = parse_moment(value)
    return parsed[0] if parsed is not None else None
