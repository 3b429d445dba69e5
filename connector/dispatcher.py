"""The dispatcher role: send requests from Kafka to the provider, one final SubmitResult per request.

Per record: decode (undecodable → dead letter), validate (invalid → REJECTED/EXPIRED result, nothing
sent), send through the bind pool, write the result and one message-index entry per part. The input
offset completes only when all of that is acknowledged by the broker, and commits move only up to the
highest contiguous completed offset. When `max_in_flight` requests are in progress the assigned
partitions are paused: backpressure, not buffering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from connector.config import Settings
from connector.correlation import IndexEntry, LocalIndex
from connector.errors import SerdeError, ValidationError
from connector.intents import Intent, IntentLog
from connector.kafka.deadletter import error_headers
from connector.kafka.messages import is_record, position
from connector.kafka.offsets import OffsetTracker, commit_completed
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import Serde
from connector.logs import mask_phone
from connector.metrics import Metrics
from connector.records import ResultStatus, millis, submit_result
from connector.routing import Router
from connector.validation import validate_common

log = logging.getLogger(__name__)

_BATCH = 500


class _Outputs:
    """Counts the records one input produced; completes the input offset when all are acknowledged."""

    __slots__ = ("_on_done", "_remaining")

    def __init__(self, count: int, on_done: Callable[[], None]) -> None:
        self._remaining = count
        self._on_done = on_done

    def acked(self) -> None:
        self._remaining -= 1
        if self._remaining == 0:
            self._on_done()


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        producer: AsyncProducer,
        router: Router,
        request_serde: Serde,
        result_serde: Serde,
        index_serde: Serde,
        index: LocalIndex,
        metrics: Metrics,
        intents: IntentLog,
    ) -> None:
        self.settings = settings
        self._metrics = metrics
        self._topics = settings.kafka.topics
        self._limits = settings.dispatcher
        self._producer = producer
        self._router = router
        self._request_serde = request_serde
        self._result_serde = result_serde
        self._index_serde = index_serde
        self._index = index
        self._offsets = OffsetTracker()
        self._intents = intents
        self._restoring: set[tuple[str, int]] = set()
        self._refreshes: dict[int, asyncio.Future[int]] = {}
        self._restores: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused = False
        self._assignment: list[TopicPartition] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka.bootstrap_servers,
                "group.id": settings.kafka.group_id,
                "enable.auto.commit": "false",
                "auto.offset.reset": "earliest",
                "partition.assignment.strategy": "cooperative-sticky",
                "statistics.interval.ms": 5000,
                "stats_cb": metrics.on_consumer_statistics,
                **settings.kafka.membership(),
                **settings.kafka.consumer,
            }
        )
        self.consumed = 0
        self.results: Counter[tuple[str, str, str]] = Counter()  # (channel, route, status)
        self.provider_codes: Counter[tuple[str, str]] = Counter()  # (route, code)
        self.dead_letters = 0
        self.replayed = 0  # requests found DONE in the intent log: stored result published again, not sent
        self.ambiguous = 0
        self.ready = asyncio.Event()

    # ---- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        consumer = self._consumer
        consumer.subscribe([self._topics.send_requests], on_assign=self._on_assign, on_revoke=self._on_revoke)
        commit_task = asyncio.create_task(self._commit_periodically())
        try:
            while not stop.is_set():
                # Never take more than the room left: in-flight work is what a crash leaves ambiguous.
                room = max(1, min(_BATCH, self._limits.max_in_flight - len(self._tasks)))
                messages = consumer.consume(room, timeout=0)
                if not messages:
                    await asyncio.sleep(0.005)
                    continue
                rewound: set[tuple[str, int]] = set()
                for message in messages:
                    position = (message.topic() or "", message.partition() or 0)
                    if position in self._restoring:
                        # Fetched before the pause took hold: read it again once the state is restored.
                        if position not in rewound:
                            rewound.add(position)
                            consumer.seek(TopicPartition(position[0], position[1], message.offset() or 0))
                        continue
                    self._accept(message)
                self._apply_backpressure()
                await asyncio.sleep(0)
        finally:
            commit_task.cancel()
            await self._drain()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assignment = list({(p.topic, p.partition): p for p in [*self._assignment, *partitions]}.values())
        # Nothing of a partition is processed before its intent state is restored. The assignment is
        # applied here, not after the callback, so that the pause below holds from the first fetch.
        consumer.incremental_assign(partitions)  # cooperative-sticky, configured below
        if partitions:
            consumer.pause(partitions)
        for partition in partitions:
            self._restoring.add((partition.topic, partition.partition))
            task = asyncio.ensure_future(self._restore(partition.topic, partition.partition))
            self._restores.add(task)  # not a request: kept out of in-flight and backpressure
            task.add_done_callback(self._restores.discard)
        if not partitions:
            self.ready.set()

    async def _restore(self, topic: str, partition: int) -> None:
        while True:
            try:
                count = await self._intents.restore(partition)
                break
            except KafkaException as exc:  # the partition stays paused until its state is known
                log.warning("restoring intent state of partition %d failed (%s); retrying", partition, exc)
                await asyncio.sleep(1.0)
            if (topic, partition) not in self._restoring:
                return  # revoked meanwhile
        log.info("intent state of partition %d restored: %d requests", partition, count)
        self._restoring.discard((topic, partition))
        if (topic, partition) in {(p.topic, p.partition) for p in self._assignment} and not self._paused:
            self._consumer.resume([TopicPartition(topic, partition)])
        if not self._restoring:
            self.ready.set()

    def _refreshed(self, partition: int) -> asyncio.Future[int]:
        """One re-read of a partition's state after the grace period, shared by its ambiguous requests."""
        refresh = self._refreshes.get(partition)
        if refresh is None or refresh.done():

            async def later() -> int:
                await asyncio.sleep(self._limits.ambiguous_grace)
                return await self._intents.restore(partition)

            refresh = self._refreshes[partition] = asyncio.ensure_future(later())
        return refresh

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._commit(synchronous=True)
        consumer.incremental_unassign(partitions)
        revoked = {(p.topic, p.partition) for p in partitions}
        self._assignment = [p for p in self._assignment if (p.topic, p.partition) not in revoked]
        for topic, partition in revoked:
            self._offsets.forget(topic, partition)
            self._intents.forget(partition)
            self._restoring.discard((topic, partition))

    def _apply_backpressure(self) -> None:
        in_flight = len(self._tasks)
        if not self._paused and in_flight >= self._limits.max_in_flight:
            self._consumer.pause(self._assignment)
            self._paused = True
        elif self._paused and in_flight <= self._limits.max_in_flight // 2:
            self._consumer.resume([p for p in self._assignment if (p.topic, p.partition) not in self._restoring])
            self._paused = False

    async def _commit_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._limits.commit_interval)
            self._apply_backpressure()
            self._commit(synchronous=False)

    def _commit(self, synchronous: bool) -> None:
        commit_completed(self._consumer, self._offsets, synchronous=synchronous)

    async def _drain(self) -> None:
        """Graceful stop: no new records, in-flight finished within the deadline, final commit."""
        deadline = self._limits.shutdown_timeout
        for restore in self._restores:
            restore.cancel()
        if self._tasks:
            log.info("draining %d in-flight requests (up to %.0fs)", len(self._tasks), deadline)
            await asyncio.wait(self._tasks, timeout=deadline)
        remaining = await self._producer.flush(timeout=deadline)
        if remaining:
            log.warning("%d records were not acknowledged before shutdown", remaining)
        self._commit(synchronous=True)
        self._consumer.close()

    # ---- one record ----------------------------------------------------------------------------

    def _accept(self, message: Message) -> None:
        if not is_record(message):
            return
        self.consumed += 1
        topic, partition, offset = position(message)
        self._offsets.track(topic, partition, offset)
        received_at = time.time()
        try:
            request = self._request_serde.decode(message.value() or b"")
        except SerdeError as exc:
            self._dead_letter(message, exc)
            return
        known = self._intents.lookup(request["request_id"])
        if known is not None and known[0] is Intent.DONE and known[1] is not None:
            self._replay(message, request, known[1])
            return
        ambiguous = known is not None
        try:
            validate_common(request)
        except ValidationError as exc:
            self._finish(message, request, ResultStatus.REJECTED, received_at, description=str(exc))
            return
        expires_at = request.get("expires_at")
        if expires_at is not None and expires_at.timestamp() <= received_at:
            self._finish(
                message,
                request,
                ResultStatus.EXPIRED,
                received_at,
                description="expires_at passed before the request could be sent",
            )
            return
        task = asyncio.ensure_future(self._send(message, request, received_at, ambiguous))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, message: Message, request: dict[str, Any], received_at: float, ambiguous: bool) -> None:
        metadata = request.get("metadata") or {}
        request_id, channel = request["request_id"], request["channel"]
        note = ""
        if ambiguous:
            # SENDING without a result: the previous owner may still be finishing it (a rebalance) or
            # may have died mid-send (a crash). Give it the grace period to write DONE, then decide.
            partition = message.partition() or 0
            await self._refreshed(partition)
            known = self._intents.lookup(request_id)
            if known is not None and known[0] is Intent.DONE and known[1] is not None:
                self._replay(message, request, known[1])
                return
            self.ambiguous += 1
            if not self._router.resend_is_safe(request) and self._limits.ambiguous_policy == "report-unknown":
                self._finish(
                    message,
                    request,
                    ResultStatus.FAILED,
                    received_at,
                    provider_code="AMBIGUOUS",
                    description="ambiguous: an earlier attempt may have reached the provider before a restart; "
                    "not resent (dispatcher.ambiguous_policy=report-unknown)",
                )
                return
            note = " (resent after an ambiguous earlier attempt)"
        await self._intents.record_sending(message.partition() or 0, request_id)

        def remember(number: int, total: int, message_id: str) -> None:
            self._index.add(message_id, IndexEntry(request_id, channel, number, total, metadata))

        try:
            outcome = await self._router.send(request, remember)
        except ValidationError as exc:
            self._finish(message, request, ResultStatus.REJECTED, received_at, description=str(exc))
            return
        self._finish(
            message,
            request,
            outcome.status,
            received_at,
            route=outcome.route,
            provider_code=outcome.provider_code,
            description=(outcome.description or "") + note or None,
            message_ids=outcome.message_ids,
            attempts=outcome.attempts,
            submitted_at=outcome.submitted_at,
        )

    def _finish(
        self, message: Message, request: dict[str, Any], status: ResultStatus, received_at: float, **details: Any
    ) -> None:
        completed_at = time.time()
        result = submit_result(request, status, received_at=received_at, completed_at=completed_at, **details)
        route = result["route"]
        self.results[(request["channel"], route, status.value)] += 1
        if result["provider_code"]:
            self.provider_codes[(route, result["provider_code"])] += 1
        if status is ResultStatus.ACCEPTED:
            self._metrics.submit_latency.labels(route).observe(completed_at - received_at)
        if log.isEnabledFor(logging.DEBUG):  # per request: DEBUG only, never on the INFO hot path
            log.debug(
                "%s via %s to %s: %s",
                status.value,
                route,
                mask_phone(request["phone"]),
                result["description"] or result["provider_code"],
                extra={"request_id": request["request_id"]},
            )
        self._publish(message, request, result, self._result_serde.encode(result), record_done=True)

    def _replay(self, message: Message, request: dict[str, Any], stored: bytes) -> None:
        """The request finished before (found DONE): publish the same result again, send nothing."""
        self.replayed += 1
        self._publish(message, request, self._result_serde.decode(stored), stored, record_done=False)

    def _publish(
        self, message: Message, request: dict[str, Any], result: dict[str, Any], encoded: bytes, record_done: bool
    ) -> None:
        """Result, DONE state and index entries; the input offset completes when all are acknowledged."""
        ids: list[str] = result["provider_message_ids"]
        topic, partition, offset = position(message)
        outputs = _Outputs(1 + len(ids) + record_done, lambda: self._offsets.complete(topic, partition, offset))
        key = request["request_id"]
        self._producer.produce_reliably(self._topics.submit_results, key, encoded, outputs.acked)
        if record_done:
            self._intents.record_done(partition, key, encoded, outputs.acked)
        submitted = result["submitted_at"] or result["completed_at"]
        if isinstance(submitted, datetime):
            submitted = millis(submitted.timestamp())
        for number, message_id in enumerate(ids, 1):
            entry = {
                "provider_message_id": message_id,
                "request_id": key,
                "channel": request["channel"],
                "part_number": number,
                "total_parts": len(ids),
                "submitted_at": submitted,
                "metadata": request.get("metadata") or {},
            }
            self._producer.produce_reliably(
                self._topics.message_index, message_id, self._index_serde.encode(entry), outputs.acked
            )

    def _dead_letter(self, message: Message, error: SerdeError) -> None:
        self.dead_letters += 1
        topic, partition, offset = position(message)
        self._producer.produce_reliably(
            self._topics.dead_letter,
            message.key(),
            message.value() or b"",
            lambda: self._offsets.complete(topic, partition, offset),
            headers=error_headers(message, "VALUE_CONVERTER", error),
        )

    @property
    def in_flight(self) -> int:
        return len(self._tasks)
