"""The dispatcher's intent log: no duplicate sends across restarts and rebalances (DESIGN.md section 4).

The state topic is compacted; a request's records go to the partition whose number is its input
record's partition (as Kafka Streams changelogs do), so whichever replica owns an input partition owns
its state. State changes are group-committed: the SENDINGs (and the DONEs) of one partition made in one
turn of the event loop are written as one record, keyed by a unique group key, so the topic gets a
record per batch rather than two per request (the awaited acknowledgement is the batch's). Tombstones
and the handover marker are records of their own, and a restore applies everything in log order, so a
later record overrides an earlier one for the same request. Per request:

    SENDING   written while the request holds a window slot (or its REST token), before it is written
              to the provider: only requests that may be on the wire are ever SENDING
    DONE      the input record's offset and the result's bytes, written before the result (the result is
              produced once DONE is durable, so no result contradicts a SENDING left by a crash)
    tombstone the request was given back before it left the process (graceful stop, rebalance)

and per partition a HANDOVER marker with the input position its owner had read up to, written by an
owner that let the partition go cleanly, once every record it produced was acknowledged: every DONE
before the marker for an input record below that position has its result in Kafka (written by that
owner, or published again by it when it re-read the record). A replica that takes over a partition
reads its state first:
- the same input record DONE before the last handover: finished and its result is durable; skipped,
  nothing republished (a planned rebalance repeats nothing);
- DONE after it (the previous owner crashed), or DONE for another record with the same request_id (the
  caller sent it twice): the stored result is published again, identical, and nothing is sent;
- SENDING: ambiguous, the send may or may not have reached the provider.

Records older than the idempotency window are ignored on restore and pruned from the local cache; the
topic forgets them by retention (`cleanup.policy=compact,delete`).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from connector.waiter import Waiter

_SENDING = b"S"
_DONE_LEGACY = b"D"  # b"D" + result: written before input offsets were kept
_DONE = b"E"  # b"E" + the input record's offset (8 bytes) + result
_SENDING_GROUP = b"s"  # b"s" + per request: id length (2 bytes) + id
_DONE_GROUP = b"e"  # b"e" + per request: id length (2 bytes) + id + state length (4 bytes) + its DONE state
_GROUP_LIMIT = 500  # requests per group record, so a record stays far below the broker's size limit
_HANDOVER_KEY = "\x00handover"  # a request_id is caller text; a NUL-led key cannot collide in practice
_GROUP_KEY = "\x00group\x00"  # + this log's instance + a counter: unique, never compacted away
_WRITE_BEHIND = 2000  # state changes kept in memory before they go to SQLite in one statement
_HANDOVER = b"H"  # b"H" + the input offset the owner had read up to (8 bytes)
_LOOKUP_CHUNK = 500  # ids per lookup statement, far below SQLite's limit on parameters


def _pack_id(request_id: str) -> bytes:
    data = request_id.encode()
    return len(data).to_bytes(2, "big") + data


def _unpack_group(value: bytes) -> Iterator[tuple[str, bytes]]:
    """(request_id, state) for every request of a group record."""
    tag, position, end = value[:1], 1, len(value)
    while position < end:
        length = int.from_bytes(value[position : position + 2], "big")
        request_id = value[position + 2 : position + 2 + length].decode()
        position += 2 + length
        if tag == _SENDING_GROUP:
            yield request_id, _SENDING
            continue
        size = int.from_bytes(value[position : position + 4], "big")
        yield request_id, value[position + 4 : position + 4 + size]
        position += 4 + size


def _input_offset(state: bytes) -> int:
    """The input record's offset a DONE state carries; -1 for SENDING and the legacy DONE."""
    return int.from_bytes(state[1:9], "big") if state[:1] == _DONE else -1


class Intent(enum.Enum):
    SENDING = "sending"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Known:
    intent: Intent
    result: bytes | None  # the stored SubmitResult of a DONE request
    input_offset: int | None  # the input record that finished it
    handed_over: bool  # written before the partition's last clean handover: its result is durable

    def finished_record(self, offset: int) -> bool:
        """This very input record was finished by an owner that handed over cleanly."""
        return self.intent is Intent.DONE and self.handed_over and self.input_offset == offset


@dataclass(frozen=True, slots=True)
class Restored:
    requests: int  # state entries kept
    expired: int  # entries older than the idempotency window, ignored
    records: int  # records read
    seconds: float


@dataclass(frozen=True, slots=True)
class StateRecord:
    offset: int
    key: str
    value: bytes | None  # None: a tombstone
    timestamp: float  # epoch seconds


class StateReader(Protocol):
    def batches(self, partition: int) -> Iterator[list[StateRecord]]:
        """The partition's records from its beginning to the end it had when called, in batches."""
        ...


class StateWriter(Protocol):
    def produce_reliably(
        self, topic: str, key: str, value: bytes | None, on_done: Callable[[], None], *, partition: int | None = None
    ) -> None: ...

    def produce_tombstone(self, topic: str, key: str, partition: int | None = None) -> None: ...

    def produce_and_wait(
        self, topic: str, key: str, value: bytes, *, partition: int | None = None
    ) -> asyncio.Future[None]: ...


class KafkaStateReader:
    """Reads one partition of the state topic with a consumer of its own, outside any group."""

    def __init__(self, bootstrap_servers: str, topic: str, consumer_extra: dict[str, str] | None = None) -> None:
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._consumer_extra = consumer_extra or {}

    def batches(self, partition: int) -> Iterator[list[StateRecord]]:
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": "vihat-intent-restore",
                "enable.auto.commit": "false",
                **self._consumer_extra,
            }
        )
        try:
            low, high = self._watermarks(consumer, partition)
            if high <= low:
                return  # empty, or everything deleted by retention
            consumer.assign([TopicPartition(self._topic, partition, OFFSET_BEGINNING)])
            position = low
            while position < high:
                batch = []
                for message in consumer.consume(5000, timeout=1.0):
                    if message.error() is not None:
                        continue
                    offset = message.offset() or 0
                    position = offset + 1
                    key = (message.key() or b"").decode()
                    batch.append(StateRecord(offset, key, message.value(), message.timestamp()[1] / 1000))
                if batch:
                    yield batch
                else:  # compaction and retention leave gaps: ask where the consumer stands
                    [standing] = consumer.position([TopicPartition(self._topic, partition)])
                    position = max(position, standing.offset)
        finally:
            consumer.close()

    def _watermarks(self, consumer: Consumer, partition: int, timeout: float = 30.0) -> tuple[int, int]:
        """The partition's first and next offsets; a just-created topic answers NOT_LEADER for a moment."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                low, high = consumer.get_watermark_offsets(TopicPartition(self._topic, partition), timeout=5)
                return int(low), int(high)
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


class IntentLog:
    def __init__(
        self,
        topic: str,
        writer: StateWriter,
        reader: StateReader,
        store_dir: str | None,
        window: float = 7 * 86_400.0,
    ) -> None:
        self._topic = topic
        self._producer = writer
        self._reader = reader
        self._window = window
        self._path = Path(store_dir or tempfile.mkdtemp(prefix="vihat-intents-")) / "intents.sqlite"
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()
        self._db.execute("DROP TABLE IF EXISTS intents")  # a cache: a new layout needs no migration
        self._db.execute(
            "CREATE TABLE intents (request_id TEXT PRIMARY KEY, partition INTEGER NOT NULL,"
            " state BLOB NOT NULL, durable INTEGER NOT NULL, at REAL NOT NULL, written INTEGER NOT NULL,"
            " input INTEGER NOT NULL)"
        )  # durable: covered by the last handover; written: the state record's offset; input: of the request
        self._db.execute("CREATE INDEX intents_at ON intents (at)")
        self._pending: dict[str, tuple[int, bytes, float]] = {}  # request_id -> (partition, state, at)
        self._sending: dict[int, dict[str, Waiter[None]]] = {}  # per partition, for the next group
        self._done: dict[int, list[tuple[str, bytes, Callable[[], None]]]] = {}
        self._groups_scheduled = False
        self._groups_written = 0
        self._instance = uuid.uuid4().hex[:12]

    @classmethod
    def on_kafka(
        cls,
        bootstrap_servers: str,
        topic: str,
        producer: StateWriter,
        store_dir: str | None,
        window: float = 7 * 86_400.0,
        consumer_extra: dict[str, str] | None = None,
    ) -> IntentLog:
        """The log on the state topic: written through `producer`, restored by a consumer of its own."""
        return cls(topic, producer, KafkaStateReader(bootstrap_servers, topic, consumer_extra), store_dir, window)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # a cache of the state topic, rebuilt on assignment
        return db

    # ---- restore -------------------------------------------------------------------------------

    async def restore(self, partition: int) -> Restored:
        """Load state partition `partition` from its beginning to its current end, streamed into the
        local store in batches, so memory stays flat however many requests the window holds."""
        started = time.monotonic()
        self._flush()  # the restore rewrites the partition's rows from the topic
        kept, records, expired = await asyncio.to_thread(self._read_partition, partition)
        return Restored(kept, expired, records, time.monotonic() - started)

    def _read_partition(self, partition: int) -> tuple[int, int, int]:
        db = self._connect()  # its own connection: the loop keeps using the main one meanwhile
        try:
            db.execute("DELETE FROM intents WHERE partition = ?", (partition,))
            horizon = time.time() - self._window
            handover, read_upto, records, expired = -1, 0, 0, 0
            for records_batch in self._reader.batches(partition):
                batch: dict[str, tuple[str, int, bytes, int, float, int, int] | None] = {}  # last per key wins
                for record in records_batch:
                    records += 1
                    key, value = record.key, record.value
                    if key == _HANDOVER_KEY:
                        handover, read_upto = record.offset, int.from_bytes((value or b"")[1:9], "big")
                        continue
                    if not value:
                        batch[key] = None  # tombstone: given back, never sent
                        continue
                    states = _unpack_group(value) if key.startswith(_GROUP_KEY) else ((key, value),)
                    for request_id, state in states:
                        if record.timestamp < horizon:
                            expired += 1
                            batch[request_id] = None  # past the idempotency window: forgotten
                        else:
                            at, written = record.timestamp, record.offset
                            batch[request_id] = (request_id, partition, state, 0, at, written, _input_offset(state))
                db.execute("BEGIN")
                db.executemany("DELETE FROM intents WHERE request_id = ?", [(k,) for k, v in batch.items() if not v])
                db.executemany(
                    "INSERT OR REPLACE INTO intents VALUES (?, ?, ?, ?, ?, ?, ?)", [v for v in batch.values() if v]
                )
                db.execute("COMMIT")
            db.execute(
                "UPDATE intents SET durable = 1 WHERE partition = ? AND written < ? AND input >= 0 AND input < ?",
                (partition, handover, read_upto),
            )
            (kept,) = db.execute("SELECT count(*) FROM intents WHERE partition = ?", (partition,)).fetchone()
            return int(kept), records, expired
        finally:
            db.close()

    def forget(self, partition: int) -> None:
        self._flush()
        self._db.execute("DELETE FROM intents WHERE partition = ?", (partition,))

    def prune(self) -> int:
        """Drop cached entries older than the idempotency window; returns how many."""
        self._flush()
        cursor = self._db.execute("DELETE FROM intents WHERE at < ?", (time.time() - self._window,))
        return cursor.rowcount

    # ---- lookups and writes --------------------------------------------------------------------

    def lookup(self, request_id: str) -> Known | None:
        pending = self._pending.get(request_id)
        if pending is not None:
            return _known(pending[1], False)
        row = self._db.execute("SELECT state, durable FROM intents WHERE request_id = ?", (request_id,)).fetchone()
        return None if row is None else _known(row[0], bool(row[1]))

    def lookup_many(self, request_ids: list[str]) -> dict[str, Known]:
        """What `lookup` says of each of `request_ids` that is known, in one statement per 500 ids
        instead of one per id (0.5 instead of 3.2 us an id)."""
        found: dict[str, Known] = {}
        unseen = []
        for request_id in request_ids:
            pending = self._pending.get(request_id)
            if pending is not None:
                found[request_id] = _known(pending[1], False)
            else:
                unseen.append(request_id)
        for start in range(0, len(unseen), _LOOKUP_CHUNK):
            chunk = unseen[start : start + _LOOKUP_CHUNK]
            rows = self._db.execute(
                f"SELECT request_id, state, durable FROM intents WHERE request_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for request_id, state, durable in rows:
                found[request_id] = _known(state, bool(durable))
        return found

    def record_sending(self, partition: int, request_id: str) -> asyncio.Future[None]:
        """Durable once the returned future resolves; only then may the request be written out."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.record_sending_to(partition, request_id, future)
        return future

    def record_sending_to(self, partition: int, request_id: str, waiter: Waiter[None]) -> None:
        """`record_sending`, with `waiter` told once the SENDING is durable."""
        self._put(request_id, partition, _SENDING)
        self._sending.setdefault(partition, {})[request_id] = waiter
        self._schedule_groups()

    def record_done(
        self, partition: int, request_id: str, input_offset: int, result: bytes, on_done: Callable[[], None]
    ) -> None:
        state = _DONE + input_offset.to_bytes(8, "big") + result
        self._put(request_id, partition, state)
        self._done.setdefault(partition, []).append((request_id, state, on_done))
        self._schedule_groups()

    def release(self, partition: int, request_id: str) -> None:
        """The request was given back before it was written out: clear its SENDING (a tombstone, unless
        its SENDING never left this process)."""
        self._pending.pop(request_id, None)
        self._db.execute("DELETE FROM intents WHERE request_id = ?", (request_id,))
        if self._sending.get(partition, {}).pop(request_id, None) is not None:
            return
        self._producer.produce_tombstone(self._topic, request_id, partition)

    def write_groups(self) -> None:
        """Produce the state changes waiting for the end of this turn of the event loop, now."""
        self._groups_scheduled = False
        sending, self._sending = self._sending, {}
        done, self._done = self._done, {}
        for partition, futures in sending.items():
            waiting = list(futures.items())
            for start in range(0, len(waiting), _GROUP_LIMIT):
                batch = waiting[start : start + _GROUP_LIMIT]
                value = _SENDING_GROUP + b"".join(_pack_id(request_id) for request_id, _ in batch)
                self._produce_group(partition, value, functools.partial(_resolve, [f for _, f in batch]))
        for partition, changes in done.items():
            for start in range(0, len(changes), _GROUP_LIMIT):
                chunk = changes[start : start + _GROUP_LIMIT]
                value = _DONE_GROUP + b"".join(
                    _pack_id(request_id) + len(state).to_bytes(4, "big") + state for request_id, state, _ in chunk
                )
                self._produce_group(partition, value, functools.partial(_call_all, [c for _, _, c in chunk]))

    def _schedule_groups(self) -> None:
        if not self._groups_scheduled:
            self._groups_scheduled = True
            asyncio.get_running_loop().call_soon(self.write_groups)

    def _produce_group(self, partition: int, value: bytes, on_done: Callable[[], None]) -> None:
        self._groups_written += 1
        key = f"{_GROUP_KEY}{self._instance}\x00{self._groups_written}"
        self._producer.produce_reliably(self._topic, key, value, on_done, partition=partition)

    def hand_over(self, partition: int, read_upto: int) -> asyncio.Future[None]:
        """Mark a clean handover; write it only once everything produced before was acknowledged.
        `read_upto`: the input offset this owner had read up to (0 if it read nothing)."""
        self.write_groups()
        marker = _HANDOVER + read_upto.to_bytes(8, "big")
        return self._producer.produce_and_wait(self._topic, _HANDOVER_KEY, marker, partition=partition)

    def _put(self, request_id: str, partition: int, state: bytes) -> None:
        # Written behind, in batches: one SQLite statement per state change cost more than the rest of
        # the intent bookkeeping. Lookups read the pending entries first.
        self._pending[request_id] = (partition, state, time.time())
        if len(self._pending) >= _WRITE_BEHIND:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        rows = [
            (request_id, partition, state, at, _input_offset(state))
            for request_id, (partition, state, at) in self._pending.items()
        ]
        self._pending.clear()
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO intents VALUES (?, ?, ?, 0, ?, -1, ?)", rows)
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._flush()
        self._db.close()


def _known(state: bytes, durable: bool) -> Known:
    tag = state[:1]
    if tag == _DONE:
        return Known(Intent.DONE, state[9:], int.from_bytes(state[1:9], "big"), durable)
    if tag == _DONE_LEGACY:
        return Known(Intent.DONE, state[1:], None, False)
    return Known(Intent.SENDING, None, None, False)


def _resolve(waiters: list[Waiter[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _call_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        callback()
