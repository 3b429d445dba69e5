"""The dispatcher's intent log: no duplicate sends across restarts and rebalances (DESIGN.md section 4).

Before a request is sent, SENDING is written to a compacted state topic, keyed by request_id, in the
partition whose number is the input record's partition (as Kafka Streams changelogs do), so whichever
replica owns that input partition owns its state. When the result is written, DONE with the result's
bytes replaces it. A replica that takes over a partition first reads its state partition, then:
a DONE request is not sent again (its stored result is published again, identical); a SENDING
request without a result is ambiguous: the send may or may not have reached the provider.
"""

from __future__ import annotations

import asyncio
import enum
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from connector.kafka.producer import AsyncProducer

_SENDING = b"S"
_DONE = b"D"


class Intent(enum.Enum):
    SENDING = "sending"
    DONE = "done"


class IntentLog:
    def __init__(self, bootstrap_servers: str, topic: str, producer: AsyncProducer, store_dir: str | None) -> None:
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._producer = producer
        path = Path(store_dir or tempfile.mkdtemp(prefix="vihat-intents-")) / "intents.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")  # a cache of the state topic, rebuilt on assignment
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS intents (request_id TEXT PRIMARY KEY, partition INTEGER NOT NULL,"
            " state BLOB NOT NULL)"
        )

    # ---- restore -------------------------------------------------------------------------------

    async def restore(self, partition: int) -> int:
        """Load state partition `partition` from its beginning to its current end; returns entries read."""
        records = await asyncio.to_thread(self._read_partition, partition)
        self._db.execute("DELETE FROM intents WHERE partition = ?", (partition,))
        self._db.executemany(
            "INSERT OR REPLACE INTO intents VALUES (?, ?, ?)", ((key, partition, value) for key, value in records)
        )
        return len(records)

    def _read_partition(self, partition: int) -> list[tuple[str, bytes]]:
        consumer = Consumer(
            {"bootstrap.servers": self._bootstrap, "group.id": "vihat-intent-restore", "enable.auto.commit": "false"}
        )
        try:
            high = self._end_offset(consumer, partition)
            latest: dict[str, bytes] = {}
            if high <= 0:
                return []
            consumer.assign([TopicPartition(self._topic, partition, OFFSET_BEGINNING)])
            position = 0
            while position < high:
                for message in consumer.consume(1000, timeout=1.0):
                    if message.error() is not None:
                        continue
                    position = (message.offset() or 0) + 1
                    key = (message.key() or b"").decode()
                    value = message.value()
                    if value:
                        latest[key] = value
                    else:
                        latest.pop(key, None)  # tombstone
            return list(latest.items())
        finally:
            consumer.close()

    def _end_offset(self, consumer: Consumer, partition: int, timeout: float = 30.0) -> int:
        """The partition's high watermark; a just-created topic answers NOT_LEADER for a moment."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                _, high = consumer.get_watermark_offsets(TopicPartition(self._topic, partition), timeout=5)
                return int(high)
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def forget(self, partition: int) -> None:
        self._db.execute("DELETE FROM intents WHERE partition = ?", (partition,))

    # ---- lookups and writes --------------------------------------------------------------------

    def lookup(self, request_id: str) -> tuple[Intent, bytes | None] | None:
        row = self._db.execute("SELECT state FROM intents WHERE request_id = ?", (request_id,)).fetchone()
        if row is None:
            return None
        state: bytes = row[0]
        if state[:1] == _DONE:
            return Intent.DONE, state[1:]
        return Intent.SENDING, None

    def record_sending(self, partition: int, request_id: str) -> asyncio.Future[None]:
        """Durable once the returned future resolves; only then may the request be sent."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def acked() -> None:
            if not future.done():
                future.set_result(None)

        self._db.execute("INSERT OR REPLACE INTO intents VALUES (?, ?, ?)", (request_id, partition, _SENDING))
        self._producer.produce_reliably(self._topic, request_id, _SENDING, acked, partition=partition)
        return future

    def record_done(self, partition: int, request_id: str, result: bytes, on_done: Callable[[], None]) -> None:
        state = _DONE + result
        self._db.execute("INSERT OR REPLACE INTO intents VALUES (?, ?, ?)", (request_id, partition, state))
        self._producer.produce_reliably(self._topic, request_id, state, on_done, partition=partition)

    def close(self) -> None:
        self._db.close()
