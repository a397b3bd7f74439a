"""The filter argument of GraphQL mutations (``delete<Plural>(filter: ...)``), evaluated over stored records.

Upstream hands the filter to GraphqlQueryParser.applyFilterToBuilder (graphql-query-filter-condition.parser.ts
and graphql-query-filter-field.parser.ts): ``and`` / ``or`` / ``not`` combine conditions; a field takes
comparators (eq, neq, in, is NULL / NOT_NULL); a composite field takes its sub-fields, each with comparators.
The emulator evaluates the same tree in Python: deletes are batches of at most a few hundred records.
"""

from __future__ import annotations

from .filters import sql_like
from .schema import COMPOSITE_SUBFIELDS, ObjectMeta


class FilterError(ValueError):
    pass


def check(obj: ObjectMeta, where) -> None:
    """Refuse what the filter input type would refuse, before anything is deleted."""
    if not isinstance(where, dict):
        raise FilterError(f'Expected type "{_type(obj)}" to be an object.')
    for key, value in where.items():
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise FilterError(f'Expected type "[{_type(obj)}]" for "{key}".')
            for part in value:
                check(obj, part)
        elif key == "not":
            check(obj, value)
        elif key in obj.record_keys or key in obj.fields:
            f = obj.fields.get(key)
            subfields = COMPOSITE_SUBFIELDS.get(f.type) if f is not None else None
            if not isinstance(value, dict):
                raise FilterError(f'Field "{key}" of "{_type(obj)}" expects an object of comparators.')
            if subfields:
                for sub in value:
                    if sub not in subfields:
                        raise FilterError(f'Field "{sub}" is not defined by type "{f.type}FilterInput".')
        else:
            raise FilterError(f'Field "{key}" is not defined by type "{_type(obj)}".')


def matches(record: dict, where: dict, obj: ObjectMeta) -> bool:
    for key, value in where.items():
        if key == "and":
            if not all(matches(record, part, obj) for part in value):
                return False
        elif key == "or":
            if not any(matches(record, part, obj) for part in value):
                return False
        elif key == "not":
            if matches(record, value, obj):
                return False
        else:
            f = obj.fields.get(key)
            if f is not None and COMPOSITE_SUBFIELDS.get(f.type):
                held = record.get(key) or {}
                if not all(_compare(held.get(sub), ops, sub) for sub, ops in value.items()):
                    return False
            elif not _compare(record.get(key), value, key):
                return False
    return True


def _compare(held, ops: dict, name: str) -> bool:
    for op, wanted in ops.items():
        if name == "id" or name.endswith("Id"):
            held = held.lower() if isinstance(held, str) else held
            wanted = (
                [w.lower() if isinstance(w, str) else w for w in wanted]
                if op == "in"
                else (wanted.lower() if isinstance(wanted, str) else wanted)
            )
        if op == "eq" and held != wanted:
            return False
        if op == "neq" and held == wanted:
            return False
        if op == "in" and held not in (wanted or []):
            return False
        if op == "is" and (held is None or held == "") != (wanted == "NULL"):
            return False
        if op == "like" and not (isinstance(held, str) and sql_like(held, wanted, False)):
            return False
        if op not in ("eq", "neq", "in", "is", "like"):
            raise FilterError(f'Field "{op}" is not served by the emulator\'s filter input.')
    return True


def _type(obj: ObjectMeta) -> str:
    return obj.nameSingular[:1].upper() + obj.nameSingular[1:] + "FilterInput"
