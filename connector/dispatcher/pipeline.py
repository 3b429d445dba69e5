"""The dispatcher role: send requests from Kafka to the provider, one final SubmitResult per request.

Per record: decode (undecodable → dead letter), validate (invalid → REJECTED/EXPIRED result, nothing
sent), send through the bind pool or REST, write the result and one message-index entry per part. The
input offset completes only when all of that is acknowledged by the broker, and commits move only up to
the highest contiguous completed offset.

How much is held: at most what the binds and REST limits can send in `dispatcher.buffer_seconds`
(never above `max_in_flight`); beyond that the partitions are paused, so a backlog waits in Kafka.

Letting work go, on SIGTERM or when a rebalance revokes partitions: requests not yet written to the
provider are given back (task cancelled, intent cleared, offset left uncommitted), what is on the wire
is finished, every record is flushed, a handover marker is written to each released state partition,
offsets are committed, and only then are the partitions let go. The consumer is polled from a worker
thread, so a revocation callback can wait for the event loop to do this.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from connector.config import Settings
from connector.correlation import IndexEntry, LocalIndex
from connector.departure import Departure
from connector.dispatcher.intents import Intent, IntentLog, Known
from connector.dispatcher.routing import Router, SendOutcome
from connector.dispatcher.validation import validate
from connector.errors import KafkaDeliveryError, SerdeError, ValidationError
from connector.kafka.consumer import ConsumerLoop, consumer_config
from connector.kafka.messages import position
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import Serde
from connector.logs import mask_phone
from connector.metrics import Metrics
from connector.records import ResultStatus, millis, submit_result
from connector.requests import SendRequest
from connector.stats import DispatcherStats

log = logging.getLogger(__name__)

T = TypeVar("T")
PartitionKey = tuple[str, int]


def drain_capacity(settings: Settings, smpp: bool, rest: bool) -> int:
    """Requests worth holding: what the senders can send in `buffer_seconds` at their configured rates,
    plus one window per bind; `max_in_flight` when a sender is unlimited."""
    limits = settings.dispatcher
    rate, slots = 0.0, 0
    if smpp:
        if settings.smpp.rate_per_bind <= 0:
            return limits.max_in_flight
        rate += settings.smpp.rate_per_bind * settings.smpp.binds
        slots += settings.smpp.binds * settings.smpp.window
    if rest:
        if settings.rest.rate_per_endpoint <= 0:
            return limits.max_in_flight
        rate += settings.rest.rate_per_endpoint
    return max(1, min(limits.max_in_flight, math.ceil(rate * limits.buffer_seconds) + slots))


class _Outputs:
    """The records one input produces; completes the input offset when all are acknowledged. One object
    per request, its bound methods the callbacks, rather than a closure for each step."""

    __slots__ = ("_dispatcher", "_encoded", "_offset", "_partition", "_remaining", "_request", "_result", "_topic")

    def __init__(
        self,
        dispatcher: Dispatcher,
        request: SendRequest,
        result: dict[str, Any],
        encoded: bytes,
        topic: str,
        partition: int,
        offset: int,
        record_done: bool,
    ) -> None:
        self._dispatcher, self._request, self._result, self._encoded = dispatcher, request, result, encoded
        self._topic, self._partition, self._offset = topic, partition, offset
        self._remaining = 1 + len(result["provider_message_ids"]) + record_done

    def done_durable(self) -> None:
        self.acked()
        self.publish()
        self._dispatcher._answer_copies(self._request.request_id, self._result, self._encoded)

    def publish(self) -> None:
        dispatcher = self._dispatcher
        dispatcher._producer.produce_reliably(
            dispatcher._topics.submit_results, self._request.request_id, self._encoded, self.acked
        )
        dispatcher._publish_index(self._request, self._result, self.acked)

    def acked(self) -> None:
        self._remaining -= 1
        if self._remaining == 0:
            self._dispatcher._kafka.offsets.complete(self._topic, self._partition, self._offset)


@dataclass(slots=True)
class _Flight:
    """A request in progress: where it came from, and whether it left the process yet."""

    key: PartitionKey
    message: Message
    request: SendRequest
    received_at: float
    departure: Departure
    ambiguous: bool  # found SENDING at takeover: its intent is not ours to clear


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
        capacity: int | None = None,
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
        self._intents = intents
        self.capacity = capacity or settings.dispatcher.max_in_flight
        self._restoring: set[PartitionKey] = set()
        self._rewound: set[PartitionKey] = set()  # restoring partitions already sought back to their first record
        self._restored: set[PartitionKey] = set()
        self._read_upto: dict[PartitionKey, int] = {}  # next input offset per partition, for handover marks
        self._refreshes: dict[int, asyncio.Future[Any]] = {}
        self._restores: set[asyncio.Task[None]] = set()
        self._flights: dict[asyncio.Future[SendOutcome | None], _Flight] = {}  # tasks, or sends under way
        # request_id -> copies of it read while it is in flight here or its DONE is not yet durable: they
        # are answered with its result once that is durable, never sent (the caller sent it again)
        self._awaiting: dict[str, list[tuple[Message, SendRequest]]] = {}
        self._letting_go: set[PartitionKey] = set()  # partitions being handed over or lost right now
        self._paused = False
        self._closing = False
        self._assignment: list[TopicPartition] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        config = consumer_config(
            settings.kafka,
            settings.kafka.group_id,
            **{
                "partition.assignment.strategy": "cooperative-sticky",
                "statistics.interval.ms": 5000,
                "stats_cb": metrics.on_consumer_statistics,
            },
        )
        self._kafka = ConsumerLoop(
            config, producer, self._topics.dead_letter, commit_interval=self._limits.commit_interval, threaded=True
        )
        self._last_prune = time.monotonic()
        self._latency: dict[str, Any] = {}  # the submit latency histogram's child per route
        self.consumed = 0
        self.results: Counter[tuple[str, str, str]] = Counter()  # (channel, route, status)
        self.provider_codes: Counter[tuple[str, str]] = Counter()  # (route, code)
        self.dead_letters = 0
        self.replayed = 0  # found DONE after an unclean takeover, or a copy the caller sent: result published again
        self.skipped = 0  # found DONE before a clean handover: result already durable, nothing published
        self.ambiguous = 0  # found SENDING: waited the grace period for the previous owner
        self.released = 0  # given back unsent at a stop or a rebalance
        self.held_peak = 0  # most requests in progress at once
        self.ready = asyncio.Event()

    # ---- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._kafka.subscribe(
            [self._topics.send_requests], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        try:
            # Never take more than the room left: what is held is what a rebalance or crash delays.
            await self._kafka.run_batches(
                stop, self._accept, tick=self._tick, room=lambda: self.capacity - len(self._flights)
            )
        finally:
            await self._drain()

    def _tick(self, now: float) -> None:
        # The consumer is touched only here, between polls, and by the rebalance callbacks on the polling
        # thread: a call from the loop while a callback waits for the loop would block.
        self._resume_restored()
        self._apply_backpressure()
        if now - self._last_prune >= 600:
            self._last_prune = now
            self._intents.prune()

    # ---- rebalance callbacks (they run on the polling thread) ----------------------------------

    def _in_loop(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the event loop and wait for it from the polling thread."""
        assert self._loop is not None
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("rebalance callback on the event loop thread")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Nothing of a partition is processed before its intent state is restored. The assignment is
        # applied here, not after the callback, so that the pause holds from the first fetch.
        consumer.incremental_assign(partitions)  # cooperative-sticky
        if partitions:
            consumer.pause(partitions)
        self._in_loop(self._assigned(partitions))

    async def _assigned(self, partitions: list[TopicPartition]) -> None:
        self._assignment = list({(p.topic, p.partition): p for p in [*self._assignment, *partitions]}.values())
        for partition in partitions:
            self._restoring.add((partition.topic, partition.partition))
            task = asyncio.ensure_future(self._restore(partition.topic, partition.partition))
            self._restores.add(task)  # not a request: kept out of in-flight and backpressure
            task.add_done_callback(self._restores.discard)
        if not partitions:
            self.ready.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """A planned rebalance: finish what is on the wire, give the rest back, commit, then let go."""
        keys = {(p.topic, p.partition) for p in partitions}
        if not self._closing:  # at close, _drain has done this for every partition already
            self._in_loop(self._hand_over(keys, self._limits.shutdown_timeout))
        self._kafka.commit(synchronous=True)
        consumer.incremental_unassign(partitions)
        self._in_loop(self._revoked(keys))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions taken away without a clean revoke (the group moved on without us): another member
        may own them already, so nothing is written for them; unsent work is dropped, not released."""
        keys = {(p.topic, p.partition) for p in partitions}
        log.warning("partitions lost without a clean revoke: %s", sorted(p for _, p in keys))
        self._in_loop(self._abandon(keys))
        consumer.incremental_unassign(partitions)
        self._in_loop(self._revoked(keys))

    async def _revoked(self, keys: set[PartitionKey]) -> None:
        self._assignment = [p for p in self._assignment if (p.topic, p.partition) not in keys]
        self._letting_go -= keys
        for topic, partition in keys:
            self._kafka.forget(topic, partition)
            self._intents.forget(partition)
            self._restoring.discard((topic, partition))
            self._rewound.discard((topic, partition))
            self._restored.discard((topic, partition))
            self._read_upto.pop((topic, partition), None)

    async def _abandon(self, keys: set[PartitionKey]) -> None:
        self._letting_go |= keys
        tasks = [task for task, flight in self._flights.items() if flight.key in keys and not flight.departure.on_wire]
        for task in tasks:
            self._flights[task].departure.reserved = False  # no tombstone: the state is another's now
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ---- letting work go -----------------------------------------------------------------------

    async def _hand_over(self, keys: set[PartitionKey], timeout: float) -> None:
        """Finish the on-wire requests of `keys`, give back the rest, flush, and mark each state
        partition as cleanly handed over, all within `timeout`."""
        deadline = time.monotonic() + timeout
        self._letting_go |= keys
        flights = {task: flight for task, flight in self._flights.items() if flight.key in keys}
        unsent = [task for task, flight in flights.items() if not flight.departure.on_wire]
        for task in unsent:
            task.cancel()
        await asyncio.gather(*unsent, return_exceptions=True)  # their intents are cleared meanwhile
        on_wire = [task for task in flights if not task.done()]
        if on_wire:
            log.info("finishing %d requests on the wire, %d given back", len(on_wire), len(unsent))
            await asyncio.wait(on_wire, timeout=max(0.0, deadline - time.monotonic() - 1.0))
        unfinished = [task for task in on_wire if not task.done()]
        for task in unfinished:  # no answer in time: left SENDING, reported ambiguous by the next owner
            self._flights[task].departure.reserved = False
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        self._intents.write_groups()  # the DONEs of what just finished, not at the end of this turn
        if await self._producer.flush(timeout=max(0.5, deadline - time.monotonic())):
            log.warning("records not acknowledged before the handover; its marker is not written")
            return
        markers = [self._intents.hand_over(key[1], self._read_upto.pop(key, 0)) for key in keys]
        try:
            await asyncio.wait_for(asyncio.gather(*markers), max(0.5, deadline - time.monotonic()))
        except (TimeoutError, KafkaDeliveryError) as exc:
            log.warning("handover markers not acknowledged (%s)", exc)
        log.info(
            "partitions %s handed over: %d finished on the wire, %d given back, %d unanswered",
            sorted(p for _, p in keys),
            len(on_wire) - len(unfinished),
            len(unsent),
            len(unfinished),
        )

    async def _drain(self) -> None:
        """Graceful stop: no new records, everything held handed over within the deadline, commit."""
        self._closing = True
        for restore in self._restores:
            restore.cancel()
        keys = {(p.topic, p.partition) for p in self._assignment} | {f.key for f in self._flights.values()}
        await self._hand_over(keys, self._limits.shutdown_timeout)
        await self._kafka.close()

    # ---- state restore -------------------------------------------------------------------------

    async def _restore(self, topic: str, partition: int) -> None:
        while True:
            try:
                restored = await self._intents.restore(partition)
                break
            except KafkaException as exc:  # the partition stays paused until its state is known
                log.warning("restoring intent state of partition %d failed (%s); retrying", partition, exc)
                await asyncio.sleep(1.0)
            if (topic, partition) not in self._restoring:
                return  # revoked meanwhile
        log.info(
            "intent state of partition %d restored: %d requests (%d past the idempotency window) in %.2fs",
            partition,
            restored.requests,
            restored.expired,
            restored.seconds,
        )
        self._restoring.discard((topic, partition))
        self._rewound.discard((topic, partition))
        self._restored.add((topic, partition))  # resumed by the loop, between polls
        if not self._restoring:
            self.ready.set()

    def _resume_restored(self) -> None:
        if not self._restored:
            return
        assigned = set(self._assigned_keys())
        ready = [key for key in self._restored if key in assigned]
        self._restored.clear()
        if ready and not self._paused:
            self._kafka.resume(ready)

    def _refreshed(self, partition: int) -> asyncio.Future[Any]:
        """One re-read of a partition's state after the grace period, shared by its ambiguous requests."""
        refresh = self._refreshes.get(partition)
        if refresh is None or refresh.done():

            async def later() -> Any:
                await asyncio.sleep(self._limits.ambiguous_grace)
                return await self._intents.restore(partition)

            refresh = self._refreshes[partition] = asyncio.ensure_future(later())
        return refresh

    # ---- backpressure and commits --------------------------------------------------------------

    def _assigned_keys(self) -> list[PartitionKey]:
        return [(p.topic, p.partition) for p in self._assignment]

    def _apply_backpressure(self) -> None:
        held = len(self._flights)
        self.held_peak = max(self.held_peak, held)
        if not self._paused and held >= self.capacity:
            self._kafka.pause((p.topic, p.partition) for p in self._assignment)
            self._paused = True
        elif self._paused and held <= self.capacity // 2:
            self._kafka.resume(key for key in self._assigned_keys() if key not in self._restoring)
            self._paused = False

    # ---- one record ----------------------------------------------------------------------------

    def _accept(self, messages: list[Message]) -> None:
        """The records of one poll: decoded, their intent state looked up together, then taken one by one
        in order (a copy of an earlier one in the batch is caught by `_awaiting` before its state counts)."""
        decoded = []
        for message in messages:
            topic, partition, offset = position(message)
            if (topic, partition) in self._restoring:
                # Fetched before the pause took hold: read it again once the state is restored.
                if (topic, partition) not in self._rewound:
                    self._rewound.add((topic, partition))
                    self._kafka.rewind(message)
                continue
            self.consumed += 1
            self._kafka.track(message)
            self._read_upto[(topic, partition)] = offset + 1
            try:
                request = self._decode(message)
            except SerdeError as exc:
                self.dead_letters += 1
                self._kafka.dead_letter(message, exc)
                continue
            decoded.append((message, request, (topic, partition), offset))
        known = self._intents.lookup_many([request.request_id for _, request, _, _ in decoded])
        received_at = time.time()
        for message, request, key, offset in decoded:
            self._take(message, request, key, offset, received_at, known)

    def _take(
        self,
        message: Message,
        request: SendRequest,
        key: PartitionKey,
        offset: int,
        received_at: float,
        looked_up: dict[str, Known] | None = None,
    ) -> None:
        """`looked_up`: the intent state of the batch, looked up together; None looks it up now."""
        request_id = request.request_id
        copies = self._awaiting.get(request_id)
        if copies is not None:
            copies.append((message, request))  # the caller sent it again while it is in flight here
            return
        known = self._intents.lookup(request_id) if looked_up is None else looked_up.get(request_id)
        if known is not None and known.intent is Intent.DONE and known.result is not None:
            if known.finished_record(offset):
                self.skipped += 1  # re-read after a clean handover: its result is in Kafka already
                self._kafka.complete(message)
            else:
                self._replay(message, request, known.result)
            return
        ambiguous = known is not None
        try:
            validate(request, self.settings)
        except ValidationError as exc:
            self._finish(message, request, ResultStatus.REJECTED, received_at, description=str(exc))
            return
        if request.expires_at is not None and request.expires_at <= received_at:
            self._finish(
                message,
                request,
                ResultStatus.EXPIRED,
                received_at,
                description="expires_at passed before the request could be sent",
            )
            return
        departure = Departure(functools.partial(self._intents.record_sending_to, key[1], request_id))
        flight = _Flight(key, message, request, received_at, departure, ambiguous)
        try:
            sending = (
                self._send_after_grace(flight)
                if ambiguous
                else self._router.send(request, functools.partial(self._remember, request), departure)
            )
        except ValidationError as exc:
            self._finish(message, request, ResultStatus.REJECTED, received_at, description=str(exc))
            return
        if isinstance(sending, asyncio.Future):  # under way already, carried by callbacks (SMPP)
            task: asyncio.Future[Any] = sending
        else:
            loop = self._loop
            assert loop is not None  # records are taken only while run() runs
            # The task runs the router's coroutine itself, and what follows is this task's done
            # callback: every frame in the await chain is re-entered each time the request resumes.
            task = loop.create_task(sending)
        self._flights[task] = flight
        self._awaiting[request_id] = []
        task.add_done_callback(self._landed)

    def _decode(self, message: Message) -> SendRequest:
        record = self._request_serde.decode(message.value() or b"")
        try:
            return SendRequest.from_record(record)
        except (KeyError, ValueError, TypeError) as exc:  # e.g. a newer writer's enum symbol, read leniently
            raise SerdeError(f"not a SendRequest this connector understands: {exc!r}") from exc

    def _landed(self, task: asyncio.Future[SendOutcome | None]) -> None:
        flight = self._flights.pop(task, None)
        if flight is None:
            return
        if task.cancelled():
            self._given_back(flight)
            return
        message, request, received_at = flight.message, flight.request, flight.received_at
        try:
            outcome = task.result()
        except ValidationError as exc:  # what depends on the route, e.g. the SMPP part count
            self._finish(message, request, ResultStatus.REJECTED, received_at, description=str(exc))
            return
        except Exception:  # a bug: left unfinished (its offset holds the commit), never reported as sent
            log.exception("sending failed unexpectedly", extra={"request_id": request.request_id})
            return
        if outcome is None:
            return  # answered without sending (found DONE, or ambiguous and not resent)
        self._finish(
            message,
            request,
            outcome.status,
            received_at,
            route=outcome.route,
            provider_code=outcome.provider_code,
            description=outcome.description,
            message_ids=outcome.message_ids,
            attempts=outcome.attempts,
            submitted_at=outcome.submitted_at,
        )

    def _given_back(self, flight: _Flight) -> None:
        """Cancelled before it left the process: clear its intent so the next owner sends it as new. A
        request found ambiguous keeps the SENDING it had: an earlier owner may have sent it."""
        departure = flight.departure
        if not departure.on_wire:
            self.released += 1
            if departure.reserved and not flight.ambiguous:
                self._intents.release(flight.key[1], flight.request.request_id)
        copies = self._awaiting.pop(flight.request.request_id, [])
        if copies:
            self._rejoin(copies)  # after the release: to them, an intent cleared is a request never sent

    def _rejoin(self, copies: list[tuple[Message, SendRequest]]) -> None:
        """The request they copy was given back unsent: each copy is taken as it came, unless its own
        partition is being let go too (then it is re-read by the partition's next owner)."""
        for message, request in copies:
            topic, partition, offset = position(message)
            if not self._closing and (topic, partition) not in self._letting_go:
                self._take(message, request, (topic, partition), offset, time.time())

    def _answer_copies(self, request_id: str, result: dict[str, Any], encoded: bytes) -> None:
        """The result of `request_id` is durable: the copies read meanwhile get it, identical."""
        for message, request in self._awaiting.pop(request_id, []):
            self.replayed += 1
            self._publish(message, request, result, encoded, record_done=False)

    def _remember(self, request: SendRequest, number: int, total: int, message_id: str) -> None:
        """A part's message id, as the provider accepted it: its DLR may come before the result. (Bound
        per request with a partial: two objects where a closure made six.)"""
        self._index.add(
            message_id, IndexEntry(request.request_id, request.channel.value, number, total, request.metadata)
        )

    async def _send_after_grace(self, flight: _Flight) -> SendOutcome | None:
        """A request found SENDING, without a result: the previous owner may still be finishing it (a
        zombie) or may have died mid-send (a crash). It gets the grace period to write DONE; then the
        request is answered from its DONE, reported ambiguous, or resent where that is safe. None: it
        was answered here."""
        message, request = flight.message, flight.request
        self.ambiguous += 1
        await self._refreshed(flight.key[1])
        known = self._intents.lookup(request.request_id)
        if known is not None and known.intent is Intent.DONE and known.result is not None:
            self._replay(message, request, known.result)
            return None
        if not self._router.resend_is_safe(request) and self._limits.ambiguous_policy == "report-unknown":
            self._finish(
                message,
                request,
                ResultStatus.FAILED,
                flight.received_at,
                provider_code="AMBIGUOUS",
                description="ambiguous: an earlier attempt may have reached the provider before a restart; "
                "not resent (dispatcher.ambiguous_policy=report-unknown)",
            )
            return None
        outcome = await self._router.send(request, functools.partial(self._remember, request), flight.departure)
        outcome.description = (outcome.description or "") + " (resent after an ambiguous earlier attempt)"
        return outcome

    def _finish(
        self, message: Message, request: SendRequest, status: ResultStatus, received_at: float, **details: Any
    ) -> None:
        completed_at = time.time()
        result = submit_result(request, status, received_at=received_at, completed_at=completed_at, **details)
        route = result["route"]
        self.results[(request.channel.value, route, status.value)] += 1
        if result["provider_code"]:
            self.provider_codes[(route, result["provider_code"])] += 1
        if status is ResultStatus.ACCEPTED:
            histogram = self._latency.get(route)
            if histogram is None:
                histogram = self._latency[route] = self._metrics.submit_latency.labels(route)
            histogram.observe(completed_at - received_at)
        if log.isEnabledFor(logging.DEBUG):  # per request: DEBUG only, never on the INFO hot path
            log.debug(
                "%s via %s to %s: %s",
                status.value,
                route,
                mask_phone(request.phone),
                result["description"] or result["provider_code"],
                extra={"request_id": request.request_id},
            )
        self._publish(message, request, result, self._result_serde.encode(result), record_done=True)

    def _replay(self, message: Message, request: SendRequest, stored: bytes) -> None:
        """Found DONE after an unclean takeover (its result may not have reached Kafka), or a request_id
        the caller sent again: publish the stored result again, send nothing."""
        self.replayed += 1
        result = self._result_serde.decode(stored)
        self._publish(message, request, result, stored, record_done=False)
        self._answer_copies(request.request_id, result, stored)

    def _publish(
        self, message: Message, request: SendRequest, result: dict[str, Any], encoded: bytes, record_done: bool
    ) -> None:
        """DONE state, then result and index entries; the input offset completes when all are acknowledged.

        The result is produced only once DONE is durable: a result in Kafka whose intent is still SENDING
        would be contradicted by the next owner's AMBIGUOUS after a crash. The other way round (DONE
        without its result) is healed by the next owner, which publishes the stored result again."""
        topic, partition, offset = position(message)
        outputs = _Outputs(self, request, result, encoded, topic, partition, offset, record_done)
        if record_done:
            self._awaiting.setdefault(request.request_id, [])  # copies wait until DONE is durable
            self._intents.record_done(partition, request.request_id, offset, encoded, outputs.done_durable)
        else:
            outputs.publish()

    def _publish_index(self, request: SendRequest, result: dict[str, Any], acked: Callable[[], None]) -> None:
        ids: list[str] = result["provider_message_ids"]
        submitted = result["submitted_at"] or result["completed_at"]
        if isinstance(submitted, datetime):
            submitted = millis(submitted.timestamp())
        for number, message_id in enumerate(ids, 1):
            entry = {
                "provider_message_id": message_id,
                "request_id": request.request_id,
                "channel": request.channel.value,
                "part_number": number,
                "total_parts": len(ids),
                "submitted_at": submitted,
                "metadata": request.metadata,
            }
            self._producer.produce_reliably(
                self._topics.message_index, message_id, self._index_serde.encode(entry), acked
            )

    @property
    def broker_requests(self) -> int:
        """Requests its consumer has sent to the brokers."""
        return self._kafka.broker_requests

    def stats(self) -> DispatcherStats:
        return DispatcherStats(
            consumed=self.consumed,
            in_flight=len(self._flights),
            capacity=self.capacity,
            held_peak=self.held_peak,
            results=dict(self.results),
            provider_codes=dict(self.provider_codes),
            dead_letters=self.dead_letters,
            replayed=self.replayed,
            skipped=self.skipped,
            released=self.released,
            ambiguous=self.ambiguous,
        )
