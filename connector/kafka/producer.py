"""An asyncio face on confluent-kafka's Producer: produce with a delivery callback, `poll(0)` from one
loop task (so callbacks run on the event loop thread), never a flush per message.

Records produced during one turn of the event loop are handed to librdkafka together at its end: a
record handed over alone costs several times more CPU, in this thread and in librdkafka's, than one in
a burst (bench/bench_produce.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from connector.errors import KafkaDeliveryError

log = logging.getLogger(__name__)

Headers = list[tuple[str, str | bytes | None]]
AckCallback = Callable[[KafkaError | None], None]
DeliveryCallback = Callable[[KafkaError | None, Message | None], None]
_Queued = tuple[str, bytes | None, bytes | str | None, int | None, DeliveryCallback, Headers | None]

DEFAULTS = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "5",
    "compression.type": "lz4",
    "queue.buffering.max.messages": "200000",
}


def broker_requests(statistics: str) -> int:
    """Requests a librdkafka client has sent to the brokers, from its statistics JSON."""
    try:
        return int(json.loads(statistics).get("tx", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def _nothing() -> None:
    pass


class _Acknowledgement:
    """The delivery callback of one record: one small object, called straight from librdkafka's poll."""

    __slots__ = ("_on_ack", "_producer")

    def __init__(self, producer: AsyncProducer, on_ack: AckCallback) -> None:
        self._producer = producer
        self._on_ack = on_ack

    def __call__(self, error: KafkaError | None, _message: Message | None) -> None:
        if error is not None:
            self._producer.failed_deliveries += 1
        self._on_ack(error)


class _Reliable:
    """The delivery callback of a record produced until acknowledged."""

    __slots__ = ("_headers", "_key", "_on_done", "_partition", "_producer", "_topic", "_value")

    def __init__(
        self,
        producer: AsyncProducer,
        topic: str,
        key: bytes | str | None,
        value: bytes | None,
        on_done: Callable[[], None],
        headers: Headers | None,
        partition: int | None,
    ) -> None:
        self._producer, self._topic, self._key, self._value = producer, topic, key, value
        self._on_done, self._headers, self._partition = on_done, headers, partition

    def __call__(self, error: KafkaError | None, _message: Message | None) -> None:
        if error is None:
            self._on_done()
            return
        self._producer.failed_deliveries += 1
        log.warning("delivery to %s failed (%s); producing again", self._topic, error)
        asyncio.get_running_loop().call_later(
            1.0, self._producer._send, self._topic, self._key, self._value, self, self._headers, self._partition
        )


class AsyncProducer:
    def __init__(self, bootstrap_servers: str, extra: dict[str, str] | None = None) -> None:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            **DEFAULTS,
            "statistics.interval.ms": 5000,
            "stats_cb": self._on_statistics,
            **(extra or {}),
        }
        self._producer = Producer(config)
        self._poller: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued: list[_Queued] = []  # (topic, value, key, partition, callback, headers) until the turn ends
        self.failed_deliveries = 0
        self.broker_requests = 0  # requests sent to brokers (librdkafka statistics, every 5 s)

    def _on_statistics(self, document: str) -> None:
        self.broker_requests = broker_requests(document)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._poller = asyncio.create_task(self._poll_forever())

    async def _poll_forever(self) -> None:
        # Every 2 ms while records await their acknowledgement; asleep otherwise, until a produce wakes
        # it (an idle process would spend a few percent of a core on empty polls).
        producer, wake = self._producer, self._wake
        assert wake is not None
        while True:
            producer.poll(0)
            if len(producer) > 0 or self._queued:
                await asyncio.sleep(0.002)
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), 0.5)

    def produce(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes | None,
        on_ack: AckCallback,
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> None:
        """Queue a record; `on_ack(error)` runs on the loop once the broker answered."""
        self._send(topic, key, value, _Acknowledgement(self, on_ack), headers, partition)

    def _send(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes | None,
        delivered: DeliveryCallback,
        headers: Headers | None,
        partition: int | None,
    ) -> None:
        queued = self._queued
        queued.append((topic, value, key, partition, delivered, headers))
        if len(queued) == 1:
            if self._loop is None:  # not started: no turn to wait for
                self._hand_over()
            else:
                self._loop.call_soon(self._hand_over)

    def _hand_over(self) -> None:
        """Give librdkafka every record queued in this turn, in order."""
        queued, self._queued = self._queued, []
        produce, poll = self._producer.produce, self._producer.poll
        for topic, value, key, partition, delivered, headers in queued:
            while True:
                try:
                    if partition is None:
                        produce(topic, value, key, on_delivery=delivered, headers=headers)
                    else:
                        produce(topic, value, key, partition, on_delivery=delivered, headers=headers)
                    break
                except BufferError:
                    poll(0.05)  # local queue full: serve callbacks until there is room; bounded by in-flight
                except KafkaException as exc:  # refused locally (e.g. too large): a failed delivery, like the broker's
                    delivered(exc.args[0], None)
                    break
        wake = self._wake
        if wake is not None and not wake.is_set():
            wake.set()

    def produce_reliably(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes | None,
        on_done: Callable[[], None],
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> None:
        """Produce and retry on delivery failure until acknowledged: nothing is dropped."""
        self._send(
            topic, key, value, _Reliable(self, topic, key, value, on_done, headers, partition), headers, partition
        )

    def produce_tombstone(self, topic: str, key: bytes | str, partition: int | None = None) -> None:
        """Delete `key` from a compacted topic; retried until acknowledged, like every record."""
        self.produce_reliably(topic, key, None, _nothing, partition=partition)

    def produce_and_wait(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes,
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def acked(error: KafkaError | None) -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(KafkaDeliveryError(f"delivery to {topic} failed: {error}"))

        self.produce(topic, key, value, acked, headers, partition)
        return future

    def is_connected(self, timeout: float = 2.0) -> bool:
        try:
            return bool(self._producer.list_topics(timeout=timeout).brokers)
        except Exception:  # noqa: BLE001 - any failure means "not connected"
            return False

    async def flush(self, timeout: float = 10.0) -> int:
        """Wait until queued records are acknowledged (callbacks run here); returns those still queued."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await asyncio.sleep(0)  # first, what was scheduled for the end of this turn (grouped writes)
        while True:
            # Delivery callbacks (here or in the poller) may produce more, queued until the turn ends:
            # those count as unacknowledged too, or a handover marker could overtake them.
            if self._queued:
                self._hand_over()
            if len(self._producer) == 0 or loop.time() >= deadline:
                return len(self._producer)
            self._producer.poll(0)
            await asyncio.sleep(0.01)

    async def close(self, timeout: float = 10.0) -> int:
        """Flush, then stop polling; returns the number of records still undelivered.

        Flushed here, on the event loop, not with librdkafka's blocking flush in a worker thread: the
        delivery callbacks answer SMSCs and resolve futures, which only the loop's thread may do."""
        remaining = await self.flush(timeout)
        if self._poller is not None:
            self._poller.cancel()
        return remaining
