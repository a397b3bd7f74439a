"""Record → Twenty payload: which source column goes to which field, through which transforms and coercion.

The per-type coercion is in coercion.py, the unique keys a payload is matched on in keys.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from destination_twenty.config import ColumnMap
from destination_twenty.errors import ConfigError, RecordRejected
from destination_twenty.mapping.coercion import (
    EMPTY_CONTAINERS,
    Convert,
    chain,
    field_coercer,
    link_url,
    micros,
    reject,
    schemaless_value,
    subfield_coercer,
)
from destination_twenty.mapping.columns import Reader, column_reader
from destination_twenty.mapping.phones import PHONE_SUBFIELDS, normalize_phones
from destination_twenty.mapping.replaced import wiped
from destination_twenty.mapping.schema import (
    COMPOSITE_SUBFIELDS,
    PRIMARY_SUBFIELD,
    ObjectSchema,
    UnknownField,
)
from destination_twenty.mapping.transforms import compile_transforms, describe_value, shorten

_IGNORED_PREFIXES = ("_airbyte_", "_ab_")
_VALUE_ERRORS = (ValueError, TypeError, ArithmeticError)


class Mapper:
    """Compiled once per stream; `map` is the per-record hot path."""

    def __init__(
        self,
        mapping: Sequence[ColumnMap],
        schema: ObjectSchema | None = None,
        phone_country: str | None = None,
        renamed: bool = False,
    ):
        self.mapping = tuple(mapping)
        # Records renamed to Twenty's field names by the platform (data activation): a plain value sent to a
        # composite field is its primary sub-field (emails: "a@x.org" is emails.primaryEmail).
        self.renamed = renamed
        self.schema = schema
        self.phone_country = phone_country  # read numbers without + in this country (default_phone_country)
        # PHONES fields are parsed whole, once all their sub-fields are in (number and country may come from
        # different columns); without metadata, by their sub-field names, which are Twenty's own.
        self._phone_fields: frozenset[str] | None = (
            frozenset(name for name, info in schema.fields.items() if info.type == "PHONES")
            if schema is not None
            else None
        )
        self._problems: list[str] = []
        # (column reader, top-level key, sub-field or None, convert, field path)
        self._plan: list[tuple[Reader, str, str | None, Convert, str]] = []
        for i, column_map in enumerate(self.mapping):
            try:
                transform = compile_transforms(column_map.transforms)
            except ConfigError as exc:
                raise ConfigError(
                    f"column_mapping[{i}] ({column_map.column} → {column_map.field}): {exc}"
                ) from None
            top, sub, coerce = self._compile_path(column_map.field, i, column_map.column)
            convert = chain(transform, coerce) if column_map.transforms else coerce
            self._plan.append((column_reader(column_map.column), top, sub, convert, column_map.field))
        self._problems.extend(self._overlaps())
        self._identity: dict[str, tuple[str, str | None, Convert] | None] = {}

    def problems(self) -> list[str]:
        """Mapped fields the object lacks or that cannot be written, and fields mapped twice (needs a schema)."""
        return list(self._problems) if self.schema is not None else []

    def warnings(self) -> list[str]:
        """Partial LINKS, and EMAILS without primaryEmail: Twenty replaces such fields whole. With the object's
        schema the writer completes them from the stored record (notes on the cost); without, data is cleared."""
        covered: dict[str, set[str]] = {}
        whole: set[str] = set()
        for column_map in self.mapping:
            top, _, sub = column_map.field.partition(".")
            if sub:
                covered.setdefault(top, set()).add(sub)
            else:
                whole.add(top)
        kept = self.schema is not None
        result = []
        for top, subs in covered.items():
            if top in whole:
                continue
            kind = self._composite_kind(top, subs)
            missing = wiped(kind, subs) if kind else []
            if not missing:
                continue
            if kind == "LINKS":
                lost = " and ".join(missing)
                result.append(
                    f"{top}: the mapping sets only {', '.join(sorted(subs))}. Twenty replaces a link field whole, "
                    + (
                        f"so the {lost} stored in Twenty are read before each write that may update records and "
                        "sent along (one extra read per batch)."
                        if kept
                        else f"so {lost} already stored in Twenty will be cleared."
                    )
                )
            else:  # EMAILS without primaryEmail
                result.append(
                    f"{top}: the mapping sets additionalEmails without primaryEmail. Twenty blanks the primary "
                    + (
                        "email then, so the stored one is read before each write that may update records and sent "
                        "along (one extra read per batch)."
                        if kept
                        else f"email of every record written; map a column to {top}.primaryEmail as well."
                    )
                )
        return result

    def map(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The payload for one record; RecordRejected(reason, field) when a value cannot be sent."""
        if not self._plan:
            return self._fill(self._identity_steps(data))
        return self._fill(
            (read(data), top, sub, convert, path) for read, top, sub, convert, path in self._plan
        )

    def _identity_steps(self, data: Mapping[str, Any]) -> Iterator[tuple[Any, str, str | None, Convert, str]]:
        """Without a mapping, every property goes to the field of its name (compiled on first sight)."""
        compiled = self._identity
        for key, value in data.items():
            if value is None or value == "":
                continue
            entry = compiled.get(key, False)
            if entry is False:
                entry = compiled[key] = self._compile_identity(key)
            if entry is not None:
                yield (value, *entry, key)

    def _fill(self, steps: Iterable[tuple[Any, str, str | None, Convert, str]]) -> dict[str, Any]:
        """One loop for both ways in: convert each value, skip what is empty, name the field of a rejection."""
        payload: dict[str, Any] = {}
        for value, top, sub, convert, path in steps:
            if value is None or value == "":
                continue
            try:
                value = convert(value)
            except RecordRejected as exc:
                raise RecordRejected(exc.reason, field=path) from None
            except _VALUE_ERRORS as exc:
                # A value no coercer foresaw is that record's problem, never the sync's.
                raise RecordRejected(_unforeseen(value, exc), field=path) from None
            if value is None or (type(value) in EMPTY_CONTAINERS and not value):
                continue
            _put(payload, top, sub, value, path)
        return self._parse_phones(payload)

    def _parse_phones(self, payload: dict[str, Any]) -> dict[str, Any]:
        fields = self._phone_fields
        if fields is not None and not fields:
            return payload
        for top, value in payload.items():
            if type(value) is not dict:
                continue
            is_phone = top in fields if fields is not None else not PHONE_SUBFIELDS.isdisjoint(value)
            if is_phone:
                try:
                    payload[top] = normalize_phones(value, self.phone_country)
                except RecordRejected as exc:
                    raise RecordRejected(
                        exc.reason, field=f"{top}.{exc.field}" if exc.field else top
                    ) from None
        return payload

    def _compile_identity(self, key: str) -> tuple[str, str | None, Convert] | None:
        if key.startswith(_IGNORED_PREFIXES):
            return None
        top, sub, convert = self._compile_path(key, None, key)
        primary = (
            PRIMARY_SUBFIELD.get(self.schema.fields[top].type) if self._renamed_composite(top, sub) else None
        )
        if primary is not None:
            info = self.schema.fields[top]
            plain = subfield_coercer(info, primary)
            whole = convert

            def convert(value: Any) -> Any:
                return whole(value) if isinstance(value, dict) else {primary: plain(value)}

        return top, sub, convert

    def _renamed_composite(self, top: str, sub: str | None) -> bool:
        return bool(self.renamed and sub is None and self.schema is not None and top in self.schema.fields)

    def _compile_path(self, path: str, index: int | None, column: str) -> tuple[str, str | None, Convert]:
        """Split a field path and choose its value conversion once; an unknown field becomes a problem."""
        top, _, sub = path.partition(".")
        if self.schema is None:
            last = sub.rpartition(".")[2]
            if last == "amountMicros":
                return top, sub, micros
            if last == "primaryLinkUrl":
                return top, sub, link_url
            return top, sub or None, schemaless_value
        try:
            info, sub_name = self.schema.resolve(path)
        except UnknownField as exc:
            if index is not None:
                self._problems.append(f"column_mapping[{index}] ({column} → {path}): {exc.message}")
            message = exc.message
            return top, sub or None, lambda _value: reject(message)
        if sub_name is None:
            return top, None, field_coercer(info)
        return top, sub_name, subfield_coercer(info, sub_name)

    def _overlaps(self) -> list[str]:
        seen: dict[str, int] = {}
        result = []
        for i, column_map in enumerate(self.mapping):
            path = column_map.field
            for other, j in seen.items():
                if other == path or path.startswith(other + ".") or other.startswith(path + "."):
                    result.append(
                        f'column_mapping[{j}] and column_mapping[{i}] both write "{path}"'
                        + ("" if other == path else f' (and "{other}")')
                        + "; keep one of them."
                    )
            seen.setdefault(path, i)
        return result

    def _composite_kind(self, top: str, subs: set[str]) -> str | None:
        if self.schema is not None:
            info = self.schema.writable(top)
            return info.type if info is not None else None
        # Without metadata, the sub-field names themselves tell these composites apart.
        if subs <= set(COMPOSITE_SUBFIELDS["LINKS"]):
            return "LINKS"
        if subs <= set(COMPOSITE_SUBFIELDS["EMAILS"]):
            return "EMAILS"
        return None


def _put(payload: dict[str, Any], top: str, sub: str | None, value: Any, path: str) -> None:
    if sub is None:
        existing = payload.get(top)
        if isinstance(existing, dict) and isinstance(value, dict):
            existing.update(value)
        else:
            payload[top] = value
        return
    holder = payload.get(top)
    if holder is None:
        payload[top] = {sub: value}
    elif isinstance(holder, dict):
        holder[sub] = value
    else:
        raise RecordRejected(
            f'"{top}" already has a plain value, so {path} cannot be added to it', field=path
        )


def _unforeseen(value: Any, exc: Exception) -> str:
    return shorten(f"the value {describe_value(value)} cannot be sent: {type(exc).__name__}: {exc}", 300)
