"""The correlator's local stores, in SQLite on disk so memory stays bounded whatever the index size.

Both are caches of Kafka: the index is rebuilt from the compacted `message-index` partitions on
assignment, so the file needs no durability of its own (synchronous=OFF)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_WRITE_BEHIND = 2000  # entries kept in memory before they go to SQLite in one statement


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    return connection


class IndexStore:
    """Index records as they came (their Avro bytes), decoded only when a report asks for one: most
    entries restored at assignment are never asked for. Written behind, in batches."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path)
        self._db.execute("DROP TABLE IF EXISTS entries")  # a cache: a new layout needs no migration
        self._db.execute(
            "CREATE TABLE entries (provider_id TEXT PRIMARY KEY, partition INTEGER NOT NULL,"
            " value BLOB NOT NULL, at REAL NOT NULL)"
        )
        self._db.execute("CREATE INDEX entries_partition ON entries (partition)")
        self._db.execute("CREATE INDEX entries_at ON entries (at)")
        self._pending: dict[str, tuple[int, bytes, float]] = {}

    def put(self, partition: int, provider_id: str, value: bytes, at: float) -> None:
        """`at`: when the entry was written (its record's timestamp), for the correlation window."""
        self._pending[provider_id] = (partition, value, at)
        if len(self._pending) >= _WRITE_BEHIND:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows = [(provider_id, *entry) for provider_id, entry in self._pending.items()]
        self._pending.clear()
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", rows)
        self._db.execute("COMMIT")

    def prune(self, before: float) -> int:
        """Forget entries written before `before` (past the correlation window); returns how many."""
        self.flush()
        return self._db.execute("DELETE FROM entries WHERE at < ?", (before,)).rowcount

    def get(self, provider_id: str) -> bytes | None:
        pending = self._pending.get(provider_id)
        if pending is not None:
            return pending[1]
        row = self._db.execute("SELECT value FROM entries WHERE provider_id = ?", (provider_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def drop_partition(self, partition: int) -> None:
        self.flush()
        self._db.execute("DELETE FROM entries WHERE partition = ?", (partition,))

    def close(self) -> None:
        self._db.close()


class PartsStore:
    """Final statuses of the parts of multipart requests, until every part has reported."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS parts (request_id TEXT NOT NULL, part_number INTEGER NOT NULL,"
            " total_parts INTEGER NOT NULL, status TEXT NOT NULL, PRIMARY KEY (request_id, part_number))"
        )

    def record(self, request_id: str, part_number: int, total_parts: int, status: str) -> list[str] | None:
        """Store one part's final status; return all statuses in part order once every part is in."""
        self._db.execute(
            "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?)", (request_id, part_number, total_parts, status)
        )
        rows = self._db.execute(
            "SELECT status FROM parts WHERE request_id = ? ORDER BY part_number", (request_id,)
        ).fetchall()
        if len(rows) < total_parts:
            return None
        self._db.execute("DELETE FROM parts WHERE request_id = ?", (request_id,))
        return [row[0] for row in rows]

    def close(self) -> None:
        self._db.close()
