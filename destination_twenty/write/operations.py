"""The operations that only touch records that already exist: update (never create) and delete (soft delete).

Both find a batch's stored matches at once: an update reads them (one filtered read per batch) and then writes
by id through the usual batch upsert; a delete soft-deletes them in one GraphQL call per batch,
`delete<Plural>(filter: {or: [{id: {in: [...]}}, {emails: {primaryEmail: {in: [...]}}}]})`, which answers the
records it deleted, so matching rows back to records costs nothing more. Runs on a pool thread, inside the
batch sender; it only calls Twenty and fills the batch's result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from destination_twenty.errors import DataError
from destination_twenty.mapping.columns import dig
from destination_twenty.mapping.keys import match_text, unique_keys
from destination_twenty.twenty.filters import by_keys
from destination_twenty.write.items import Item
from destination_twenty.write.reconcile import lookup_filters

# The batch sender and its result are passed in, not imported: batch.py calls these (no import circle).
Sender = Any  # write.batch.BatchSender
Result = Any  # write.batch.BatchResult

# A server may cap how many records one mutation affects (MUTATION_MAXIMUM_AFFECTED_RECORDS, 100 by default
# on self-hosted Twenty): when an answer stops at a round number short of the batch, the rest is sent again.
RESEND_AT_MOST = 20


def describe_key(item: Item) -> str:
    """The key a record is matched on, for messages: emails.primaryEmail=a@x.org, or the id."""
    if item.match:
        return " + ".join(f"{path}={value}" for path, value in item.match)
    named = [f"{path}={value}" for path, value in sorted(item.keys) if path != "id"]
    ids = [f"id={value}" for path, value in sorted(item.keys) if path == "id"]
    return ", ".join(named + ids)


def matches(item: Item, row: Mapping[str, Any], schema: Any) -> bool:
    """Is this stored row a match of the record: every field of its matching key equal (data activation), or
    one of its unique keys (id included) equal?"""
    if item.match:
        return all((match_text(path, dig(row, path.split("."))) or "") == value for path, value in item.match)
    return any(key in item.keys for key in unique_keys(row, schema))


def read_matches(sender: Sender, items: Sequence[Item]) -> list[dict[str, Any]]:
    """The stored records that match any of the items: one filtered read per batch (a few for long keys)."""
    rows: list[dict[str, Any]] = []
    plain = [i for i in items if not i.match]
    for expression in lookup_filters(plain):
        rows.extend(sender.client.find(sender.plural, expression))
    # A composite key is read by one of its parts that is set ([in] lists per part); the others are compared here.
    by_path: dict[str, set[str]] = {}
    for item in items:
        if item.match:
            path, value = next((p, v) for p, v in item.match if v)
            by_path.setdefault(path, set()).add(value)
    for path, values in by_path.items():
        for expression in by_keys(path, sorted(values), 50):
            rows.extend(sender.client.find(sender.plural, expression))
    return rows


def prepare_updates(
    sender: Sender, items: list[Item], result: Result
) -> tuple[list[Item], dict[str, dict[str, Any]]]:
    """Update-only records: each must match exactly one stored record, whose id it then writes to; a record
    that matches nothing is rejected naming its key (nothing is created), one that matches two is ambiguous.
    Returns the records to write and the stored rows read, by id."""
    rows = read_matches(sender, items)
    kept = []
    stored: dict[str, dict[str, Any]] = {}
    for item in items:
        found = {
            row["id"]: row
            for row in rows
            if isinstance(row.get("id"), str) and matches(item, row, sender.schema)
        }
        if not found and item.action == "write":  # an upsert on a matching key that matches nothing: create
            kept.append(item)
            continue
        if not found:
            sender._reject(
                result,
                item,
                f"no record in {sender.plural} matches {describe_key(item)}; this stream only updates records "
                "that exist, so nothing was created",
                _key_field(item),
            )
            continue
        if len(found) > 1:
            sender._reject(
                result,
                item,
                f"{len(found)} records in {sender.plural} match {describe_key(item)} ({', '.join(sorted(found))}), "
                "so which one to update is ambiguous",
                _key_field(item),
            )
            continue
        ((stored_id, row),) = found.items()
        item.payload["id"] = stored_id
        item.update = True
        item.client_id = False
        stored[stored_id] = row
        kept.append(item)
    sender._known.add(row["id"] for row in rows if isinstance(row.get("id"), str))
    return kept, stored


def delete(sender: Sender, items: list[Item], result: Result) -> None:
    """Soft-delete what each record matches, in one call per batch; a record that matches nothing is counted
    "not found", never rejected. A dry run reads the matches instead."""
    if sender.dry_run:
        rows = read_matches(sender, items)
        for item in items:
            hit = any(matches(item, row, sender.schema) for row in rows)
            (result.counts.deleted if hit else result.counts.not_found)[item.stream] += 1
        return
    pending = list(items)
    singular = sender.schema.name_singular if sender.schema else sender.plural[:-1]
    for _round in range(RESEND_AT_MOST):
        where = delete_filter(pending)
        try:
            rows = sender.client.graphql_delete_many(
                singular, sender.plural, where, _selection(sender, pending)
            )
        except DataError as exc:
            if len(pending) == 1:
                sender._reject(
                    result, pending[0], f"Twenty refused to delete it: {exc.message}", message=exc.message
                )
                return
            middle = len(pending) // 2  # one bad key fails the call: split until it stands alone
            delete(sender, pending[:middle], result)
            delete(sender, pending[middle:], result)
            return
        left = []
        for item in pending:
            if any(matches(item, row, sender.schema) for row in rows):
                result.counts.deleted[item.stream] += 1
            else:
                left.append(item)
        capped = rows and len(rows) % 100 == 0 and left
        if not capped:
            for item in left:
                result.counts.not_found[item.stream] += 1
            return
        pending = left
    for item in pending:
        result.counts.not_found[item.stream] += 1


def delete_filter(items: Sequence[Item]) -> dict[str, Any]:
    """The GraphQL filter matching every item's key: ids and unique values in `in` lists, a composite matching
    key as an `and` of `eq`s."""
    by_path: dict[str, set[str]] = {}
    parts: list[dict[str, Any]] = []
    for item in items:
        if item.match:
            parts.append({"and": [_predicate(path, "eq", value) for path, value in item.match]})
            continue
        for path, value in item.keys:
            by_path.setdefault(path, set()).add(value)
    parts[:0] = [_predicate(path, "in", sorted(values)) for path, values in sorted(by_path.items())]
    return parts[0] if len(parts) == 1 else {"or": parts}


def _predicate(path: str, comparator: str, value: Any) -> dict[str, Any]:
    head, _, sub = path.partition(".")
    leaf = {comparator: value}
    return {head: {sub: leaf}} if sub else {head: leaf}


def _selection(sender: Sender, items: Sequence[Item]) -> list[str]:
    fields = list(sender.selection)
    for item in items:
        for path, _value in item.match:
            head, _, sub = path.partition(".")
            entry = f"{head} {{ {sub} }}" if sub else head
            if entry not in fields:
                fields.append(entry)
    return fields


def _key_field(item: Item) -> str | None:
    if item.match:
        return item.match[0][0]
    return next((path for path, _ in sorted(item.keys) if path != "id"), "id")
