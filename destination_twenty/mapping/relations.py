"""Links between records, by a key the warehouse has: a mapping field `<relation>.<field path on the target>`
(`company.domainName.primaryLinkUrl` on people) sets the relation's join column (`companyId`) to the id of the
one target record whose field equals the key; on notes and tasks, `targets.<target>.<field path>` links the note
to the records found, through noteTargets / taskTargets rows.

`plan` reads the workspace's metadata once and splits the column mapping into plain columns (for the mapper) and
lookups; the lookups themselves are made by the writer (write/links.py), which holds the per-sync caches.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

from destination_twenty.config import ColumnMap
from destination_twenty.errors import ConfigError
from destination_twenty.mapping.columns import column_reader
from destination_twenty.mapping.keys import key_form
from destination_twenty.mapping.schema import ObjectSchema, UnknownField, find_object
from destination_twenty.mapping.transforms import compile_transforms

TARGETS_PREFIX = "targets."
TARGET_ID_NAMESPACE = uuid.UUID("0b7f3c2a-5d8e-4f1a-9c6b-2e4d8a1f7c35")
_JUNCTION = {"notes": ("noteTargets", "note"), "tasks": ("taskTargets", "task")}


@dataclass(frozen=True)
class Lookup:
    """One mapped column whose value is a key on another object."""

    index: int  # position in column_mapping, for messages
    column: str
    field: str  # as mapped, e.g. company.domainName.primaryLinkUrl
    relation: str  # the relation's name on the written object (or the target's, for note/task targets)
    join_column: str  # set on the written object (relation) or on the junction row (target)
    target: str  # plural of the object looked up, e.g. companies
    target_singular: str
    path: str  # field path on the target, e.g. domainName.primaryLinkUrl
    leave_unset: bool  # a key that matches nothing leaves the relation unset instead of rejecting the record
    is_target: bool  # a note/task target (a junction row), not a join column
    unique: bool = False  # the path is unique on the target: Twenty can connect by it (write/connects.py)
    convert: Callable[[Any], Any] = field(compare=False, hash=False, default=lambda v: v)
    read: Callable[[Mapping[str, Any]], Any] = field(compare=False, hash=False, default=lambda data: None)

    def normalise(self, value: Any) -> str | None:
        """The key as Twenty compares it: emails lower-cased, link URLs as Twenty stores them."""
        return key_form(self.path, self.convert(value))


@dataclass(frozen=True)
class Junction:
    """Where note/task targets are written: noteTargets (noteId, personId …) or their v1.20 names."""

    plural: str  # noteTargets
    owner_column: str  # noteId


@dataclass
class Plan:
    columns: list[ColumnMap]  # for the mapper
    lookups: list[Lookup]
    junction: Junction | None
    problems: list[str]
    notes: list[str]


def plan(mapping: Sequence[ColumnMap], plural: str, objects: Sequence[Mapping[str, Any]] | None) -> Plan:
    """Split the column mapping; without metadata (objects None) nothing can be looked up."""
    result = Plan([], [], None, [], [])
    written = find_object(objects or [], plural)
    relations = written.many_to_one if written else {}
    joins = written.join_columns if written else {}
    junction = None
    if plural in _JUNCTION and objects:
        junction = find_object(objects, _JUNCTION[plural][0])
    for index, column_map in enumerate(mapping):
        head, _, rest = column_map.field.partition(".")
        where = f"column_mapping[{index}] ({column_map.column} → {column_map.field})"
        if column_map.field.startswith(TARGETS_PREFIX) and plural in _JUNCTION:
            lookup = _target_lookup(index, column_map, plural, junction, objects or [], where, result)
            if lookup is not None:
                result.lookups.append(lookup)
            continue
        if head in joins and rest == "id":  # a raw Twenty id: the join column takes it as it is
            result.columns.append(ColumnMap(column_map.column, joins[head], column_map.transforms))
            continue
        if head in joins and rest and head not in relations:
            result.problems.append(
                f"{where}: Twenty's metadata does not say which object the relation {head} points to, so "
                f"{rest} cannot be looked up; map the record id to {head}.id instead."
            )
            continue
        if head not in relations or not rest:
            result.columns.append(column_map)
            continue
        target_plural, target_singular = relations[head]
        lookup = _lookup(
            index,
            column_map,
            head,
            joins[head],
            target_plural,
            target_singular,
            rest,
            objects or [],
            where,
            result,
        )
        if lookup is not None:
            result.lookups.append(lookup)
    plain = {m.field for m in result.columns}
    for lookup in result.lookups:
        if not lookup.is_target and lookup.join_column in plain:
            result.problems.append(
                f"column_mapping[{lookup.index}] ({lookup.column} → {lookup.field}) and a column mapped to "
                f"{lookup.join_column} both set the {lookup.relation}; keep one of them."
            )
    if objects is None and any(m.field.startswith(TARGETS_PREFIX) for m in mapping):
        result.problems.append(
            "note and task targets need the workspace's metadata, which this key may not read."
        )
    if any(lookup.is_target for lookup in result.lookups) and junction is not None:
        owner = _JUNCTION[plural][1]
        owner_relation = next((name for name in junction.many_to_one if _plain(name) == owner), owner)
        result.junction = Junction(
            _JUNCTION[plural][0], junction.join_columns.get(owner_relation, f"{owner_relation}Id")
        )
    return result


def targets_wanted(mapping: Sequence[ColumnMap], plural: str, objects: Sequence[Mapping[str, Any]]) -> bool:
    """Does the mapping look a key up through a relation whose target the metadata does not name? The v2
    line's REST metadata names none: then one read of the GraphQL metadata API fills them in."""
    written = find_object(objects, plural)
    untargeted = set(written.untargeted) if written else set()
    junction = find_object(objects, _JUNCTION[plural][0]) if plural in _JUNCTION else None
    for column_map in mapping:
        head, _, rest = column_map.field.partition(".")
        if column_map.field.startswith(TARGETS_PREFIX) and junction is not None and junction.untargeted:
            return True
        if head in untargeted and rest and rest != "id":
            return True
    return False


def _target_lookup(
    index: int,
    column_map: ColumnMap,
    plural: str,
    junction: ObjectSchema | None,
    objects: Sequence[Mapping[str, Any]],
    where: str,
    result: Plan,
) -> Lookup | None:
    target, _, path = column_map.field[len(TARGETS_PREFIX) :].partition(".")
    if junction is None:
        result.problems.append(
            f"{where}: this workspace has no {_JUNCTION[plural][0]} object to link targets with."
        )
        return None
    # v1.20 names the junction's relations targetPerson, targetCompany …; earlier versions person, company ….
    relations = {_plain(name): (name, info) for name, info in junction.many_to_one.items()}
    relations.pop(_JUNCTION[plural][1], None)
    if target not in relations and target in {_plain(name) for name in junction.untargeted}:
        result.problems.append(
            f"{where}: Twenty's metadata does not say which object the {_JUNCTION[plural][0]} relation for "
            f"'{target}' points to, so notes and tasks cannot be linked to it by key."
        )
        return None
    if target not in relations or not path:
        close = get_close_matches(target, list(relations), n=3, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else f" Targets: {', '.join(sorted(relations))}."
        result.problems.append(
            f"{where}: '{target}' is not something a {plural[:-1]} can be linked to; use "
            f"targets.<target>.<field>, e.g. targets.person.emails.primaryEmail.{hint}"
        )
        return None
    name, (target_plural, target_singular) = relations[target]
    return _lookup(
        index,
        column_map,
        target,
        junction.join_columns[name],
        target_plural,
        target_singular,
        path,
        objects,
        where,
        result,
        True,
    )


def _lookup(
    index: int,
    column_map: ColumnMap,
    relation: str,
    join_column: str,
    target_plural: str,
    target_singular: str,
    path: str,
    objects: Sequence[Mapping[str, Any]],
    where: str,
    result: Plan,
    is_target: bool = False,
) -> Lookup | None:
    schema = find_object(objects, target_plural)
    if schema is None:
        result.problems.append(f"{where}: the target object {target_plural} is not active in this workspace.")
        return None
    if path != "id":
        try:
            schema.resolve(path)
        except UnknownField as exc:
            result.problems.append(f"{where}: on {target_plural}, {exc.message}")
            return None
    if path not in schema.unique_paths:
        result.notes.append(
            f"{where}: {path} is not unique on {target_plural}, so two {target_plural} with the same value make "
            "the link ambiguous and reject the record; a unique field (such as an email or domain) is safer."
        )
    try:
        convert = compile_transforms(column_map.transforms)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return Lookup(
        index=index,
        column=column_map.column,
        field=column_map.field,
        relation=relation,
        join_column=join_column,
        target=target_plural,
        target_singular=target_singular,
        path=path,
        leave_unset=column_map.if_not_found == "leave_unset",
        is_target=is_target,
        unique=path in schema.unique_paths,
        convert=convert,
        read=column_reader(
            column_map.column
        ),  # a dotted column reads into nested objects, as the mapper does
    )


def target_row_id(owner_id: str, lookup: Lookup, target_id: str) -> str:
    """A junction row's id from what it links: re-syncing the same note never duplicates its targets."""
    return str(uuid.uuid5(TARGET_ID_NAMESPACE, f"{owner_id}\x1f{lookup.join_column}\x1f{target_id}"))


def describe_missing(lookup: Lookup, key: str) -> str:
    return f"no {lookup.target_singular} with {lookup.path} {key} (column '{lookup.column}', {lookup.field})"


def describe_ambiguous(lookup: Lookup, key: str, ids: Sequence[str]) -> str:
    return (
        f"{len(ids)} {lookup.target} have {lookup.path} {key} ({', '.join(ids)}), so the {lookup.relation} link "
        f"is ambiguous (column '{lookup.column}'); map a unique field of {lookup.target} instead"
    )


def _plain(name: str) -> str:
    """targetPerson → person (v1.20 junction names), person → person."""
    if name.startswith("target") and len(name) > 6 and name[6].isupper():
        return name[6].lower() + name[7:]
    return name
