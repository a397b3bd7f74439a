"""Completing partial LINKS and EMAILS writes: Twenty replaces such a field whole (mapping/replaced.py), so the
sub-fields a write leaves out are filled with the values Twenty holds now, and a write keeps what it does not set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from destination_twenty.mapping.replaced import REPLACED_WHOLE, is_partial
from destination_twenty.mapping.schema import ObjectSchema
from destination_twenty.write.items import Item
from destination_twenty.write.reconcile import Stored


class Composites:
    def __init__(self, schema: ObjectSchema | None):
        # The object's fields that Twenty replaces whole, by name → type.
        self._replaced = {
            name: f.type for name, f in (schema.fields.items() if schema else ()) if f.type in REPLACED_WHOLE
        }

    def is_partial(self, payload: Mapping[str, Any]) -> bool:
        """Does this payload send part of a field that Twenty replaces whole?"""
        return any(
            isinstance(value, dict) and is_partial(self._replaced[top], value)
            for top, value in payload.items()
            if top in self._replaced
        )

    def complete(self, items: Iterable[Item], stored: Stored) -> None:
        """Fill the sub-fields a partial write would wipe with the values of the stored record it updates."""
        for item in items:
            row = stored.of(item)
            if row is None:
                continue  # a new record: nothing stored to keep
            for top, value in item.payload.items():
                old = row.get(top)
                if top in self._replaced and isinstance(value, dict) and isinstance(old, dict):
                    for sub, kept in old.items():
                        if sub not in value and kept not in (None, "", [], {}):
                            value[sub] = kept
