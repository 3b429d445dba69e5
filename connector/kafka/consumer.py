"""One consumer loop for every role: subscribe, batch consume, pause and resume, offset tracking and
commits (only up to the highest contiguous completed offset), the dead-letter step, and the drain at
the end. The dispatcher, the correlator and the request finals keep only what they do with one record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from connector.config import KafkaSettings
from connector.kafka.deadletter import error_headers
from connector.kafka.messages import is_record, position
from connector.kafka.offsets import OffsetTracker, commit_completed
from connector.kafka.producer import AsyncProducer, broker_requests

_IDLE_MIN, _IDLE_MAX = 0.002, 0.05  # seconds between empty non-blocking polls
DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": "false",
    "auto.offset.reset": "earliest",
    # librdkafka prefetches up to 64 MB by default: with a backlog that is most of a process's memory,
    # and a role holds at most a few thousand records anyway.
    "queued.max.messages.kbytes": 16384,
}

PartitionKey = tuple[str, int]
RebalanceCallback = Callable[[Consumer, list[TopicPartition]], None]


def consumer_config(kafka: KafkaSettings, group_id: str, **overrides: Any) -> dict[str, Any]:
    """The defaults every role shares, then the role's own, then static membership and the operator's
    `kafka.consumer` settings, which win."""
    return {
        "bootstrap.servers": kafka.bootstrap_servers,
        "group.id": group_id,
        **DEFAULTS,
        **overrides,
        **kafka.membership(),
        **kafka.consumer,
    }


class ConsumerLoop:
    """A consumer and the bookkeeping of the records it handed out.

    `threaded`: poll from a worker thread, so rebalance callbacks (which run inside the poll) can wait
    for the event loop; the consumer is then touched from the loop only between polls."""

    def __init__(
        self,
        config: dict[str, Any],
        producer: AsyncProducer,
        dead_letter_topic: str,
        *,
        commit_interval: float = 1.0,
        batch: int = 500,
        threaded: bool = False,
    ) -> None:
        forward: Callable[[str], None] | None = config.get("stats_cb")

        def on_statistics(document: str) -> None:
            self.broker_requests = broker_requests(document)
            if forward is not None:
                forward(document)

        self.consumer = Consumer({"statistics.interval.ms": 5000, **config, "stats_cb": on_statistics})
        self.broker_requests = 0  # requests sent to brokers (librdkafka statistics, every 5 s)
        self.offsets = OffsetTracker()
        self._producer = producer
        self._dead_letter_topic = dead_letter_topic
        self._commit_interval = commit_interval
        self._batch = batch
        self._threaded = threaded

    def subscribe(
        self,
        topics: list[str],
        on_assign: RebalanceCallback | None = None,
        on_revoke: RebalanceCallback | None = None,
        on_lost: RebalanceCallback | None = None,
    ) -> None:
        callbacks = {"on_assign": on_assign, "on_revoke": on_revoke, "on_lost": on_lost}
        self.consumer.subscribe(topics, **{name: cb for name, cb in callbacks.items() if cb is not None})

    async def run(
        self,
        stop: asyncio.Event,
        accept: Callable[[Message], None],
        *,
        tick: Callable[[float], None] | None = None,
        room: Callable[[], int] | None = None,
    ) -> None:
        """Consume until `stop`: `tick(now)` before every poll, at most `room()` records per poll (the
        batch size otherwise), `accept` for each record, commits every `commit_interval`."""

        def accept_each(records: list[Message]) -> None:
            for record in records:
                accept(record)

        await self.run_batches(stop, accept_each, tick=tick, room=room)

    async def run_batches(
        self,
        stop: asyncio.Event,
        accept: Callable[[list[Message]], None],
        *,
        tick: Callable[[float], None] | None = None,
        room: Callable[[], int] | None = None,
    ) -> None:
        """`run`, with `accept` given the records of each poll together."""
        consumer = self.consumer
        last_commit = time.monotonic()
        idle = _IDLE_MIN
        while not stop.is_set():
            now = time.monotonic()
            if tick is not None:
                tick(now)
            if now - last_commit >= self._commit_interval:
                last_commit = now
                self.commit(synchronous=False)
            size = max(1, min(self._batch, room())) if room is not None else self._batch
            if self._threaded:
                messages = await asyncio.to_thread(consumer.consume, size, 0.05)
            else:
                messages = consumer.consume(size, timeout=0)
            records = [message for message in messages if is_record(message)]
            if records:
                accept(records)
            if self._threaded or len(messages) >= size:  # a threaded poll waited in the consumer already
                idle = _IDLE_MIN
                await asyncio.sleep(0)
            elif messages:  # less than a batch: let more arrive than one poll per record
                idle = _IDLE_MIN
                await asyncio.sleep(_IDLE_MIN)
            else:  # nothing came: wait longer each time, up to _IDLE_MAX, so an idle role costs little
                await asyncio.sleep(idle)
                idle = min(idle * 2, _IDLE_MAX)

    # ---- flow ----------------------------------------------------------------------------------

    def pause(self, keys: Iterable[PartitionKey]) -> None:
        """Stop fetching from these partitions (backpressure stays in Kafka); positions are kept."""
        partitions = [TopicPartition(topic, partition) for topic, partition in keys]
        if partitions:
            self.consumer.pause(partitions)

    def resume(self, keys: Iterable[PartitionKey]) -> None:
        partitions = [TopicPartition(topic, partition) for topic, partition in keys]
        if partitions:
            self.consumer.resume(partitions)

    def rewind(self, message: Message) -> None:
        """Fetch again from this record on (a record handed out before its partition could take it)."""
        topic, partition, offset = position(message)
        self.consumer.seek(TopicPartition(topic, partition, offset))

    # ---- offsets -------------------------------------------------------------------------------

    def track(self, message: Message) -> tuple[str, int, int]:
        """Start tracking a record's offset; it commits once `complete` was called for it (and for
        every record before it)."""
        topic, partition, offset = position(message)
        self.offsets.track(topic, partition, offset)
        return topic, partition, offset

    def completion(self, message: Message) -> Callable[[], None]:
        """A callback that completes `message`'s offset, for the last acknowledgement of its output."""
        topic, partition, offset = position(message)
        return lambda: self.offsets.complete(topic, partition, offset)

    def complete(self, message: Message) -> None:
        self.offsets.complete(*position(message))

    def passed(self, message: Message) -> None:
        """A record that needs no work: its offset is done at once (`track` and `complete` in one step)."""
        self.offsets.passed(*position(message))

    def commit(self, synchronous: bool) -> None:
        commit_completed(self.consumer, self.offsets, synchronous=synchronous)

    def forget(self, topic: str, partition: int) -> None:
        self.offsets.forget(topic, partition)

    # ---- records that cannot be handled --------------------------------------------------------

    def dead_letter(self, message: Message, error: BaseException, stage: str = "VALUE_CONVERTER") -> None:
        """Write the record as it came, with Connect's error headers; its offset completes when the
        dead-letter topic has it."""
        self._producer.produce_reliably(
            self._dead_letter_topic,
            message.key(),
            message.value() or b"",
            self.completion(message),
            headers=error_headers(message, stage, error),
        )

    # ---- the end -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Flush what was produced, commit what completed, leave the group."""
        await self._producer.flush()
        self.commit(synchronous=True)
        if self._threaded:  # its revoke callback waits for the event loop
            await asyncio.to_thread(self.consumer.close)
        else:
            self.consumer.close()
