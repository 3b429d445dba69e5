"""The correlator's local stores, in SQLite on disk so memory stays bounded whatever the index size.

Both are caches of Kafka: the index is rebuilt from the compacted `message-index` partitions on
assignment, so the file needs no durability of its own (synchronous=OFF)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from connector.correlation import IndexEntry


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    return connection


class IndexStore:
    def __init__(self, path: Path) -> None:
        self._db = _connect(path)
        self._db.execute("DROP TABLE IF EXISTS entries")  # a cache: a new layout needs no migration
        self._db.execute(
            "CREATE TABLE entries (provider_id TEXT PRIMARY KEY, partition INTEGER NOT NULL,"
            " request_id TEXT NOT NULL, channel TEXT NOT NULL, part_number INTEGER NOT NULL,"
            " total_parts INTEGER NOT NULL, metadata TEXT NOT NULL, at REAL NOT NULL)"
        )
        self._db.execute("CREATE INDEX entries_partition ON entries (partition)")
        self._db.execute("CREATE INDEX entries_at ON entries (at)")

    def put(self, partition: int, provider_id: str, entry: IndexEntry, at: float) -> None:
        """`at`: when the entry was written (its record's timestamp), for the correlation window."""
        self._db.execute(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                provider_id,
                partition,
                entry.request_id,
                entry.channel,
                entry.part_number,
                entry.total_parts,
                json.dumps(entry.metadata),
                at,
            ),
        )

    def prune(self, before: float) -> int:
        """Forget entries written before `before` (past the correlation window); returns how many."""
        return self._db.execute("DELETE FROM entries WHERE at < ?", (before,)).rowcount

    def get(self, provider_id: str) -> IndexEntry | None:
        row = self._db.execute(
            "SELECT request_id, channel, part_number, total_parts, metadata FROM entries WHERE provider_id = ?",
            (provider_id,),
        ).fetchone()
        if row is None:
            return None
        return IndexEntry(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def drop_partition(self, partition: int) -> None:
        self._db.execute("DELETE FROM entries WHERE partition = ?", (partition,))

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

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
