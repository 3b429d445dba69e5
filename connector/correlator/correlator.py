"""Joins `reports-raw` with `message-index`, both keyed by provider message id and co-partitioned, so
whichever replica owns partition p holds both the index entries and the reports of p.

On assignment the index partition is read from its beginning into the local store; the matching
report partition stays paused until that restore reaches the end the broker reported, so no report
is judged against a half-restored index. A report whose id is not indexed yet is held for
`hold_seconds` (its entry may still be on its way from the dispatcher); when the entry arrives the
report goes out correlated ("late"), otherwise it is published uncorrelated, with request_id null.
Report offsets commit only once their output is acknowledged; index offsets are never committed
because every assignment restores from the start of the compacted topic.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from connector.config import Settings
from connector.correlation import IndexEntry
from connector.correlator.store import IndexStore
from connector.errors import SerdeError
from connector.kafka.consumer import ConsumerLoop, consumer_config
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import Serde, SingleObjectSerde
from connector.reporting import enrich
from connector.stats import CorrelatorStats

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Held:
    message: Message
    report: dict[str, Any]
    deadline: float


class Correlator:
    def __init__(self, settings: Settings, producer: AsyncProducer, index_serde: Serde, report_serde: Serde) -> None:
        self._topics = settings.kafka.topics
        self._settings = settings.correlator
        self._producer = producer
        self._index_serde = index_serde
        self._report_serde = report_serde
        directory = Path(self._settings.store_dir or tempfile.mkdtemp(prefix="vihat-correlator-"))
        self._store = IndexStore(directory / "index.sqlite")
        self._held: dict[str, list[_Held]] = {}
        self._restoring: set[int] = set()  # index partitions still being read up to their end
        self._last_prune = time.monotonic()
        self.counts: Counter[str] = Counter()  # hit, late, uncorrelated
        self.ready = asyncio.Event()
        # Range gives partition p of both topics to the same member: the co-partitioning this needs.
        config = consumer_config(
            settings.kafka,
            f"{settings.kafka.group_id}-correlator",
            **{"partition.assignment.strategy": "range"},
            **self._settings.fetch_settings(),
        )
        self._kafka = ConsumerLoop(config, producer, self._topics.dead_letter)
        self._consumer = self._kafka.consumer

    def _request_id(self, value: bytes) -> str | None:
        """A report's request_id, read without decoding the whole report where the serialization allows."""
        if isinstance(self._report_serde, SingleObjectSerde):
            return self._report_serde.leading_optional_string(value)
        request_id: str | None = self._report_serde.decode(value)["request_id"]
        return request_id

    async def run(self, stop: asyncio.Event) -> None:
        self._kafka.subscribe(
            [self._topics.message_index, self._topics.reports_raw], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        try:
            await self._kafka.run(stop, self._accept, tick=self._tick)
        finally:
            # Held reports stay uncommitted: the next owner of their partition reads them again.
            await self._kafka.close()
            self._store.close()

    def _tick(self, now: float) -> None:
        if self._restoring:
            self._resume_restored()
        self._release_expired(now)
        if now - self._last_prune >= 600:
            self._last_prune = now
            self._store.prune(time.time() - self._settings.correlation_window)

    # ---- assignment ----------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # No broker round trip here (a new topic's leader may not be known yet): the loop watches the
        # restore's progress against the fetch responses' cached watermarks instead.
        for partition in partitions:
            if partition.topic == self._topics.message_index:
                partition.offset = OFFSET_BEGINNING
                self._restoring.add(partition.partition)
        consumer.assign(partitions)
        waiting = [TopicPartition(self._topics.reports_raw, p) for p in self._restoring]
        if waiting:
            consumer.pause(waiting)
        self.ready.set()

    def _resume_restored(self) -> None:
        for partition in list(self._restoring):
            index = TopicPartition(self._topics.message_index, partition)
            _, high = self._consumer.get_watermark_offsets(index, cached=True)
            if high < 0:
                continue  # no fetch answered yet
            [position] = self._consumer.position([index])
            if high == 0 or position.offset >= high:
                self._restoring.discard(partition)
                self._kafka.resume([(self._topics.reports_raw, partition)])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._kafka.commit(synchronous=True)
        for partition in partitions:
            if partition.topic == self._topics.message_index:
                self._store.drop_partition(partition.partition)
                self._restoring.discard(partition.partition)
            else:
                self._kafka.forget(partition.topic, partition.partition)
                # Held reports of a revoked partition are re-read by its next owner (not committed).
                for provider_id in [
                    k for k, v in self._held.items() if v[0].message.partition() == partition.partition
                ]:
                    del self._held[provider_id]

    # ---- records -------------------------------------------------------------------------------

    def _accept(self, message: Message) -> None:
        if message.topic() == self._topics.message_index:
            self._index(message)
        else:
            self._report(message)

    def _index(self, message: Message) -> None:
        value = message.value()
        written_at = message.timestamp()[1] / 1000
        if written_at < time.time() - self._settings.correlation_window:
            return  # past the correlation window: the topic's retention forgets it too
        if value is None:  # a tombstone only deletes, which compaction does for us
            return
        provider_id = (message.key() or b"").decode()  # the topic is keyed by provider message id
        self._store.put(message.partition() or 0, provider_id, value, written_at)
        waiting = self._held.pop(provider_id, None)
        if waiting:
            entry = self._entry(value)
            for held in waiting:
                self._emit(held.message, held.report, entry, "late" if entry else "uncorrelated")

    def _entry(self, value: bytes) -> IndexEntry | None:
        try:
            record = self._index_serde.decode(value)
        except SerdeError as exc:
            log.warning("undecodable message-index record: %s", exc)
            return None
        return IndexEntry(
            record["request_id"], record["channel"], record["part_number"], record["total_parts"], record["metadata"]
        )

    def _report(self, message: Message) -> None:
        self._kafka.track(message)
        value = message.value() or b""
        try:
            request_id = self._request_id(value)
        except SerdeError as exc:
            self._kafka.dead_letter(message, exc)
            return
        if request_id is not None:
            # Already tied to its request: passed on as it came. Only earlier builds wrote such reports
            # here (a receiving process now writes them to delivery-reports itself), so this serves a
            # rolling upgrade's leftovers.
            self.counts["hit"] += 1
            self._producer.produce_reliably(
                self._topics.delivery_reports, request_id, value, self._kafka.completion(message)
            )
            return
        try:
            report = self._report_serde.decode(value)
        except SerdeError as exc:
            self._kafka.dead_letter(message, exc)
            return
        stored = self._store.get(report["provider_message_id"])
        entry = self._entry(stored) if stored is not None else None
        if entry is not None:
            self._emit(message, report, entry, "hit")
            return
        held = _Held(message, report, time.monotonic() + self._settings.hold_seconds)
        self._held.setdefault(report["provider_message_id"], []).append(held)
        if sum(len(v) for v in self._held.values()) > self._settings.max_held:
            oldest = min(self._held, key=lambda k: self._held[k][0].deadline)
            for item in self._held.pop(oldest):
                self._emit(item.message, item.report, None, "uncorrelated")

    def _release_expired(self, now: float) -> None:
        expired = [k for k, v in self._held.items() if v[0].deadline <= now]
        for provider_id in expired:
            for held in self._held.pop(provider_id):
                self._emit(held.message, held.report, None, "uncorrelated")

    def _emit(self, message: Message, report: dict[str, Any], entry: IndexEntry | None, outcome: str) -> None:
        self.counts[outcome] += 1
        report = enrich(report, entry)
        key = report["request_id"] or report["provider_message_id"]
        self._producer.produce_reliably(
            self._topics.delivery_reports, key, self._report_serde.encode(report), self._kafka.completion(message)
        )

    @property
    def held(self) -> int:
        return sum(len(v) for v in self._held.values())

    @property
    def broker_requests(self) -> int:
        """Requests its consumer has sent to the brokers."""
        return self._kafka.broker_requests

    def stats(self) -> CorrelatorStats:
        return CorrelatorStats(dict(self.counts), self.held)
