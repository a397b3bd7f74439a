"""SQLite persistence: one table per object, the record JSON plus indexed columns.

Each table has ``id`` (primary key), ``data`` (the record exactly as the API returns it), ``deleted_at``,
``position`` and one ``u_<field>`` column per unique field with a UNIQUE index. Empty unique values are
stored as NULL so that they never collide (many people have no email). Duplicates therefore come from the
database itself, as on the real server. One connection is shared by the server threads behind a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .filters import sql_like
from .schema import UNIQUE_SUBFIELD, Field, ObjectMeta


def unique_value(f: Field, record: dict):
    """The value a unique field is matched on (after normalisation); '' and null never match."""
    value = record.get(f.name)
    sub = UNIQUE_SUBFIELD.get(f.type)
    if sub is not None:
        value = value.get(sub) if isinstance(value, dict) else None
    if value is None or value == "":
        return None
    return value


class Store:
    def __init__(self, path: str = ":memory:"):
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so a batch is one transaction.
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA synchronous=OFF")
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.create_function("twenty_like", 3, sql_like, deterministic=True)
        self.lock = threading.RLock()
        self._tables: set[str] = set()
        self._unique_columns: dict[str, list[str]] = {}

    # ----------------------------------------------------------------- schema
    def ensure_table(self, obj: ObjectMeta) -> None:
        with self.lock:
            t = obj.table
            if t not in self._tables:
                self.conn.execute(
                    f'CREATE TABLE IF NOT EXISTS "{t}" (id TEXT PRIMARY KEY, data TEXT NOT NULL, '
                    "deleted_at TEXT, position REAL)"
                )
                self.conn.execute(f'CREATE INDEX IF NOT EXISTS "{t}_position" ON "{t}" (position)')
                self._tables.add(t)
            existing = {row[1] for row in self.conn.execute(f'PRAGMA table_info("{t}")')}
            columns = []
            for f in obj.unique_fields:
                col = "u_" + f.name
                columns.append(col)
                if col not in existing:
                    self.conn.execute(f'ALTER TABLE "{t}" ADD COLUMN "{col}" TEXT')
                self.conn.execute(f'CREATE UNIQUE INDEX IF NOT EXISTS "{t}_{col}" ON "{t}" ("{col}")')
            self._unique_columns[t] = columns

    def drop_all_rows(self) -> None:
        with self.lock:
            for t in self._tables:
                self.conn.execute(f'DELETE FROM "{t}"')

    # ----------------------------------------------------------------- transactions
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    # ----------------------------------------------------------------- writes
    def _row(self, obj: ObjectMeta, record: dict, data_json: str) -> tuple:
        return (
            record["id"],
            data_json,
            record.get("deletedAt"),
            record.get("position"),
            *(unique_value(f, record) for f in obj.unique_fields),
        )

    def insert_many(
        self, conn: sqlite3.Connection, obj: ObjectMeta, rows: Iterable[tuple[dict, str]]
    ) -> None:
        cols = ["id", "data", "deleted_at", "position", *self._unique_columns.get(obj.table, [])]
        marks = ",".join("?" * len(cols))
        conn.executemany(
            f'INSERT INTO "{obj.table}" ({",".join(cols)}) VALUES ({marks})',
            [self._row(obj, rec, text) for rec, text in rows],
        )

    def update_many(
        self, conn: sqlite3.Connection, obj: ObjectMeta, rows: Iterable[tuple[dict, str]]
    ) -> None:
        ucols = self._unique_columns.get(obj.table, [])
        sets = ", ".join(["data=?", "deleted_at=?", "position=?", *(f'"{c}"=?' for c in ucols)])
        params = []
        for rec, text in rows:
            row = self._row(obj, rec, text)
            params.append((*row[1:], row[0]))
        conn.executemany(f'UPDATE "{obj.table}" SET {sets} WHERE id=?', params)

    def delete(self, obj: ObjectMeta, record_id: str) -> None:
        with self.lock:
            self.conn.execute(f'DELETE FROM "{obj.table}" WHERE id=?', (record_id,))

    # ----------------------------------------------------------------- reads
    def get(self, obj: ObjectMeta, record_id: str) -> tuple[str, str | None] | None:
        with self.lock:
            return self.conn.execute(
                f'SELECT data, deleted_at FROM "{obj.table}" WHERE id=?', (record_id,)
            ).fetchone()

    def find_for_upsert(self, obj: ObjectMeta, ids: list[str], unique: dict[str, list]) -> list[str]:
        """Records matching any input id or unique value, soft-deleted ones included (as upstream)."""
        clauses, params = [], []
        if ids:
            clauses.append(f"id IN ({','.join('?' * len(ids))})")
            params += ids
        for col, values in unique.items():
            if values:
                clauses.append(f'"{col}" IN ({",".join("?" * len(values))})')
                params += values
        if not clauses:
            return []
        with self.lock:
            return [
                r[0]
                for r in self.conn.execute(
                    f'SELECT data FROM "{obj.table}" WHERE {" OR ".join(clauses)}', params
                )
            ]

    def existing_ids(self, obj: ObjectMeta, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        with self.lock:
            rows = self.conn.execute(
                f'SELECT id FROM "{obj.table}" WHERE id IN ({",".join("?" * len(ids))})', ids
            )
            return {r[0] for r in rows}

    def min_position(self, conn: sqlite3.Connection, obj: ObjectMeta) -> float | None:
        return conn.execute(f'SELECT MIN(position) FROM "{obj.table}"').fetchone()[0]

    def select(self, sql: str, params: list) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def all_records(self, obj: ObjectMeta) -> list[str]:
        with self.lock:
            return [r[0] for r in self.conn.execute(f'SELECT data FROM "{obj.table}" ORDER BY rowid')]
