"""The dry run's prediction: what each record would do in Twenty (create, update, stay unchanged, or be
refused), from the records its batch would match, read once, as Twenty's upsert would match them. Nothing is
written."""

from __future__ import annotations

from collections.abc import Iterable

from destination_twenty.write.items import Item
from destination_twenty.write.reconcile import Reject, Stored, difference, new_version
from destination_twenty.write.tally import Counts


def predict(items: Iterable[Item], stored: Stored, upsert: bool, counts: Counts, reject: Reject) -> None:
    for item in items:
        if item.update:
            counts.updated[item.stream] += 1
            continue
        own = stored.by_id.get(item.payload.get("id"))
        other = stored.by_key_of(item)
        if upsert:
            (counts.updated if own or other else counts.created)[item.stream] += 1
        elif own is not None and item.client_id:
            found = difference(item.payload, own)
            if found is None:
                counts.unchanged[item.stream] += 1
            else:
                reject(item, new_version(item, found), found[0])
        elif other is not None:
            keys = ", ".join(f"{k}={v}" for k, v in sorted(item.keys) if k != "id")
            reject(item, f"a record with the same unique value ({keys}) already exists in Twenty")
        else:
            counts.created[item.stream] += 1
