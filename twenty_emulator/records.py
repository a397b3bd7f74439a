"""Record operations with the real server's semantics: create, batch, upsert, update, delete, find.

Order of work for a write, as upstream: validate every input first (one bad record fails the batch and
nothing is written), then match upserts on id and the unique fields (soft-deleted rows included), check
foreign keys, and write everything in one SQLite transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid

from .clock import now_iso
from .errors import DUPLICATE_MESSAGE, ApiError, bad_request, internal_error, not_found
from .filters import ListQuery, encode_cursor
from .schema import COMPOSITE_SUBFIELDS, UNIQUE_SUBFIELD, ObjectMeta, Workspace
from .store import Store, unique_value
from .validation import ConnectByKey, RecordValidator
from .versions import CURRENT, TwentyVersion

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_WORD = re.compile(r"\w+", re.U)


class Records:
    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        api_key_name: str,
        max_batch: int,
        version: TwentyVersion = CURRENT,
    ):
        self.workspace = workspace
        self.version = version
        self.store = store
        self.api_key_name = api_key_name
        self.max_batch = max_batch
        self._validators: dict[str, tuple[int, RecordValidator]] = {}
        self._defaults: dict[str, tuple[int, str]] = {}
        self._last_ts = 0.0

    # ----------------------------------------------------------------- helpers
    def validator(self, obj: ObjectMeta) -> RecordValidator:
        key = (len(obj.fields), id(obj))
        cached = self._validators.get(obj.nameSingular)
        if cached is None or cached[0] != key:
            cached = (
                key,
                RecordValidator(
                    obj,
                    self.api_key_name,
                    lenient_numbers=self.version.lenient_numbers,
                    connect_by_key=self.version.relation_connect,
                ),
            )
            self._validators[obj.nameSingular] = cached
        return cached[1]

    def _blank(self, obj: ObjectMeta) -> dict:
        """A fresh record with every output key at its default (json round-trip: fast deep copy)."""
        cached = self._defaults.get(obj.nameSingular)
        if cached is None or cached[0] != len(obj.record_keys):
            record = {}
            for key in obj.record_keys:
                f = obj.fields.get(key)
                record[key] = f.record_default() if f is not None else None
            cached = (len(obj.record_keys), _dumps(record))
            self._defaults[obj.nameSingular] = cached
        return json.loads(cached[1])

    def _timestamp(self) -> str:
        """Strictly increasing millisecond timestamps, so an update never looks like an insert."""
        now = max(time.time(), self._last_ts + 0.001)
        self._last_ts = now
        return now_iso(now)

    @staticmethod
    def _apply(obj: ObjectMeta, record: dict, patch: dict) -> None:
        for key, value in patch.items():
            f = obj.fields.get(key)
            if f is not None and f.type in COMPOSITE_SUBFIELDS and isinstance(value, dict):
                current = record.get(key)
                record[key] = {**current, **value} if isinstance(current, dict) else value
            else:
                record[key] = value

    def _search_vector(self, obj: ObjectMeta, record: dict) -> str:
        """A tsvector-like rendering of the label field and emails (the real one is Postgres output)."""
        parts = []
        label = record.get(obj.labelIdentifierField or "")
        if isinstance(label, dict):
            parts += [str(v) for v in label.values() if isinstance(v, str)]
        elif isinstance(label, str):
            parts.append(label)
        emails = record.get("emails")
        if isinstance(emails, dict) and emails.get("primaryEmail"):
            parts.append(emails["primaryEmail"])
        words = _WORD.findall(" ".join(parts).lower())
        return " ".join(f"'{w}':{i}" for i, w in enumerate(words, 1))

    def _finish(self, obj: ObjectMeta, record: dict) -> None:
        if "searchVector" in obj.record_keys:
            record["searchVector"] = self._search_vector(obj, record)

    def _connect_by_key(self, patches: list[dict]) -> None:
        """Set each connect-by-key to the one target its where matches, before anything is written: a where
        matching none (or two) fails the whole call, as relation-nested-queries.ts does."""
        for patch in patches:
            for column, value in patch.items():
                if not isinstance(value, ConnectByKey):
                    continue
                f = value.field
                target = self.workspace.objects.get(f.relation["target"])
                conditions = []  # (unique field, value, column name as the ORM flattens it)
                for name, given in value.where.items():
                    uf = target.fields.get(name) if target else None
                    sub = UNIQUE_SUBFIELD.get(uf.type) if uf else None
                    wanted = given.get(sub) if sub and isinstance(given, dict) else given
                    if (
                        uf is None
                        or not uf.isUnique
                        or wanted is None
                        or (sub and not isinstance(given, dict))
                    ):
                        raise bad_request(f'Relation "{f.name}" requires connect or disconnect operation')
                    conditions.append((uf, wanted, name + (sub[0].upper() + sub[1:] if sub else "")))
                rows = [
                    json.loads(text)
                    for text in self.store.find_for_upsert(
                        target, [], {"u_" + uf.name: [wanted] for uf, wanted, _ in conditions}
                    )
                ]
                rows = [
                    r
                    for r in rows
                    if not r.get("deletedAt") and all(unique_value(uf, r) == v for uf, v, _ in conditions)
                ]
                if len(rows) != 1:
                    said = ", ".join(f"{c} = {v}" for _, v, c in conditions)
                    error = bad_request(
                        f"Expected 1 record to connect to {f.name}, but found {len(rows)} for {said}"
                    )
                    error.user_friendly = (
                        f"Can't connect to {f.name}. No unique record found with condition: {said}"
                    )
                    raise error
                patch[column] = rows[0]["id"]

    def _check_foreign_keys(self, obj: ObjectMeta, patches: list[dict]) -> None:
        for column, f in obj.join_columns.items():
            values = list({p[column] for p in patches if p.get(column)})
            if not values:
                continue
            target = self.workspace.objects.get(f.relation["target"])
            found = self.store.existing_ids(target, values) if target else set()
            if len(found) < len(values):
                table = self.workspace.table_name(obj)
                name = self.workspace.fk_constraint_name(obj, column)
                raise internal_error(
                    f'insert or update on table "{table}" violates foreign key constraint "{name}"'
                )

    # ----------------------------------------------------------------- create / upsert
    def create_many(self, obj: ObjectMeta, bodies: list, *, upsert: bool) -> list[dict]:
        if len(bodies) > self.max_batch:
            raise bad_request(f"Maximum number of records to upsert is {self.max_batch}.")
        validator = self.validator(obj)
        patches = [validator.validate(b) for b in bodies]
        if not patches:
            return []
        with self.store.lock:
            inserts, updates = patches, []
            if upsert:
                inserts, updates = self._categorise(obj, patches)
            elif self.version.legacy_errors:
                self._legacy_conflicts(obj, patches)
            self._connect_by_key(patches)
            self._check_foreign_keys(obj, patches)
            return self._write(obj, inserts, updates, reviving=True)

    def _categorise(self, obj: ObjectMeta, patches: list[dict]) -> tuple[list[dict], list[tuple[dict, dict]]]:
        uniques = obj.unique_fields
        ids = list({p["id"] for p in patches if p.get("id")})
        wanted: dict[str, list] = {}
        for f in uniques:
            wanted["u_" + f.name] = list({v for p in patches if (v := unique_value(f, p)) is not None})
        existing = [json.loads(text) for text in self.store.find_for_upsert(obj, ids, wanted)]
        by_id = {r["id"]: r for r in existing}
        by_unique = {(f.name, unique_value(f, r)): r for f in uniques for r in existing}
        inserts, updates = [], []
        for patch in patches:
            matched: dict[str, dict] = {}
            described = []
            if patch.get("id"):
                described.append(f"id: {patch['id']}")
                if patch["id"] in by_id:
                    matched[patch["id"]] = by_id[patch["id"]]
            for f in uniques:
                value = unique_value(f, patch)
                if value is None:
                    continue
                sub = f.name + ("." + s if (s := UNIQUE_SUBFIELD.get(f.type)) else "")
                described.append(f"{sub}: {value}")
                hit = by_unique.get((f.name, value))
                if hit is not None:
                    matched[hit["id"]] = hit
            if len(matched) > 1:
                raise bad_request(
                    "Multiple records found with the same unique field values for "
                    f"{', '.join(described)}. Cannot determine which record to update."
                )
            if matched:
                updates.append((next(iter(matched.values())), patch))
            else:
                inserts.append(patch)
        return inserts, updates

    def _legacy_conflicts(self, obj: ObjectMeta, patches: list[dict]) -> None:
        """The pre-common-API handlers' answers for an insert that meets an existing record: 'Record already
        exists' for a live id (rest-api-create-many.handler.ts handle()), then handleDuplicateKeyError's
        'Duplicate <label> with value <value>. Please set a unique one.' for a unique field, in a batch too."""
        ids = [p["id"] for p in patches if p.get("id")]
        if ids:
            rows = [json.loads(t) for t in self.store.find_for_upsert(obj, ids, {})]
            if any(not r.get("deletedAt") for r in rows):
                raise bad_request("Record already exists")
        for f in obj.unique_fields:
            values = [v for p in patches if (v := unique_value(f, p)) is not None]
            taken = {
                unique_value(f, json.loads(t))
                for t in self.store.find_for_upsert(obj, [], {"u_" + f.name: values})
            }
            seen: set = set()
            for value in values:
                if value in taken or value in seen:
                    raise bad_request(f"Duplicate {f.label} with value {value}. Please set a unique one.")
                seen.add(value)

    def _write(
        self, obj: ObjectMeta, inserts: list[dict], updates: list[tuple[dict, dict]], *, reviving: bool
    ):
        now = self._timestamp()
        actor = self.validator(obj).actor
        try:
            with self.store.transaction() as conn:
                low = self.store.min_position(conn, obj)
                next_pos = 0 if low is None else low - 1

                inserted = []
                for patch in inserts:
                    record = self._blank(obj)
                    record["id"] = patch.get("id") or str(uuid.uuid4())
                    record["createdAt"] = record["updatedAt"] = now
                    if obj.has_actor:
                        record["createdBy"] = dict(actor)
                        record["updatedBy"] = dict(actor)
                    if "position" in record and "position" not in patch:
                        record["position"] = next_pos
                        next_pos -= 1
                    self._apply(obj, record, patch)
                    if "updatedAt" not in patch:
                        record["updatedAt"] = record["createdAt"]
                    self._finish(obj, record)
                    inserted.append(record)

                updated = []
                seen: dict[str, dict] = {}
                for existing, patch in updates:
                    record = seen.get(existing["id"]) or existing
                    patch = {k: v for k, v in patch.items() if k not in ("id", "createdBy")}
                    self._apply(obj, record, patch)
                    record["updatedAt"] = self._later_than(record)
                    if obj.has_actor:
                        record["updatedBy"] = dict(actor)
                    if reviving:
                        record["deletedAt"] = None  # an upsert match revives a soft-deleted record
                        if "position" in record and "position" not in patch:
                            record["position"] = next_pos
                            next_pos -= 1
                    self._finish(obj, record)
                    if record["id"] not in seen:
                        updated.append(record)
                    seen[record["id"]] = record

                if inserted:
                    self.store.insert_many(conn, obj, [(r, _dumps(r)) for r in inserted])
                if updated:
                    self.store.update_many(conn, obj, [(r, _dumps(r)) for r in updated])
        except sqlite3.IntegrityError:
            raise bad_request(DUPLICATE_MESSAGE) from None
        # Upsert answers with the updated records first, then the inserted ones (recorded).
        return updated + inserted

    def _later_than(self, record: dict) -> str:
        stamp = self._timestamp()
        while stamp <= max(record.get("updatedAt") or "", record.get("createdAt") or ""):
            stamp = self._timestamp()
        return stamp

    # ----------------------------------------------------------------- single record
    def _load(
        self, obj: ObjectMeta, record_id: str, *, include_deleted: bool = False, legacy_missing: bool = False
    ) -> dict:
        row = self.store.get(obj, record_id)
        if row is None or (row[1] is not None and not include_deleted):
            if legacy_missing and self.version.legacy_errors:
                # TypeORM's findOneOrFail, surfaced as a 400 by the pre-common-API handlers (reference §5.3).
                criteria = json.dumps({"id": record_id}, indent=4)
                raise ApiError(
                    400,
                    "EntityNotFoundError",
                    f'Could not find any entity of type "{obj.nameSingular}" matching: {criteria}',
                )
            raise not_found()
        return json.loads(row[0])

    def get_one(self, obj: ObjectMeta, record_id: str) -> dict:
        return self._load(obj, record_id)

    def update_one(self, obj: ObjectMeta, record_id: str, body) -> dict:
        patch = self.validator(obj).validate(body, is_update=True)
        patch.pop("id", None)
        with self.store.lock:
            existing = self._load(obj, record_id, legacy_missing=True)
            self._connect_by_key([patch])
            self._check_foreign_keys(obj, [patch])
            return self._write(obj, [], [(existing, patch)], reviving=False)[0]

    def delete_one(self, obj: ObjectMeta, record_id: str, *, soft: bool) -> dict:
        with self.store.lock:
            record = self._load(obj, record_id, include_deleted=not soft, legacy_missing=True)
            if soft:
                record["deletedAt"] = self._timestamp()
                with self.store.transaction() as conn:
                    self.store.update_many(conn, obj, [(record, _dumps(record))])
                return record
            self.store.delete(obj, record_id)
            self._null_references(obj, record_id)
            return record

    def delete_many(self, obj: ObjectMeta, where: dict) -> list[dict]:
        """Soft-delete every record the GraphQL filter matches, in one transaction; answers them, with deletedAt
        set (graphql-query-delete-many-resolver.service.ts: softDelete().returning('*')). A record already
        soft-deleted matches too and gets a new deletedAt, as both real lines answered (v2 and v1.3 rigs,
        December 2026): deleting twice answers the same records twice."""
        from .graphql_filter import matches

        with self.store.lock:
            hits = []
            for text in self.store.all_records(obj):
                record = json.loads(text)
                if matches(record, where, obj):
                    hits.append(record)
            stamp = self._timestamp()
            for record in hits:
                record["deletedAt"] = stamp
            if hits:
                with self.store.transaction() as conn:
                    self.store.update_many(conn, obj, [(r, _dumps(r)) for r in hits])
            return hits

    def restore_one(self, obj: ObjectMeta, record_id: str) -> dict:
        with self.store.lock:
            record = self._load(obj, record_id, include_deleted=True)
            record["deletedAt"] = None
            with self.store.transaction() as conn:
                self.store.update_many(conn, obj, [(record, _dumps(record))])
            return record

    def backfill_key(self, obj: ObjectMeta, key: str, default) -> None:
        """A new field (or join column) shows up on records that already exist, with its default."""
        with self.store.transaction() as conn:
            conn.execute(
                f'UPDATE "{obj.table}" SET data=json_set(data, ?, json(?))',
                (f'$."{key}"', json.dumps(default)),
            )

    def _null_references(self, obj: ObjectMeta, record_id: str) -> None:
        """ON DELETE SET NULL for join columns pointing at a destroyed record."""
        for other in self.workspace.objects.values():
            for column, f in other.join_columns.items():
                if f.relation["target"] != obj.nameSingular:
                    continue
                with self.store.transaction() as conn:
                    conn.execute(
                        f'UPDATE "{other.table}" SET data=json_set(data, ?, NULL) WHERE json_extract(data, ?)=?',
                        (f'$."{column}"', f'$."{column}"', record_id),
                    )

    # ----------------------------------------------------------------- find many
    def find_many(self, obj: ObjectMeta, q: ListQuery) -> dict:
        where = q.filter.sql
        if not q.filter.mentions_deleted:
            where = f"({where}) AND deleted_at IS NULL"
        table = f'"{obj.table}"'
        params = q.filter.params
        with self.store.lock:
            total = self.store.select(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)[0][0]
            has_next = has_prev = False
            if q.starting_after is None and q.ending_before is None:
                rows = self.store.select(
                    f"SELECT id, data FROM {table} WHERE {where} ORDER BY {q.order_sql} LIMIT ?",
                    [*params, q.limit + 1],
                )
                has_next = len(rows) > q.limit
                rows = rows[: q.limit]
            else:
                ids = [
                    r[0]
                    for r in self.store.select(
                        f"SELECT id FROM {table} WHERE {where} ORDER BY {q.order_sql}", params
                    )
                ]
                cursor = q.starting_after or q.ending_before
                if cursor not in ids:
                    raise bad_request(f"Invalid cursor: record {cursor} is not in this result set")
                pos = ids.index(cursor)
                if q.starting_after is not None:
                    page = ids[pos + 1 : pos + 1 + q.limit]
                    has_next = pos + 1 + q.limit < len(ids)
                else:
                    start = max(0, pos - q.limit)
                    page = ids[start:pos]
                    has_prev = start > 0
                data = (
                    dict(
                        self.store.select(
                            f"SELECT id, data FROM {table} WHERE id IN ({','.join('?' * len(page))})", page
                        )
                    )
                    if page
                    else {}
                )
                rows = [(i, data[i]) for i in page]
        records = [json.loads(text) for _, text in rows]
        return {
            "data": {obj.namePlural: records},
            "totalCount": total,
            "pageInfo": {
                "startCursor": encode_cursor(rows[0][0]) if rows else None,
                "endCursor": encode_cursor(rows[-1][0]) if rows else None,
                "hasNextPage": has_next,
                "hasPreviousPage": has_prev,
            },
        }
