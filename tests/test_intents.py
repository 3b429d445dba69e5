"""The intent log against the real broker: what a new owner of a partition learns from its state."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from connector.config import Topics
from connector.dispatcher.intents import Intent, IntentLog, Restored
from connector.kafka.producer import AsyncProducer

pytestmark = pytest.mark.integration

DAY = 86_400.0


def test_a_new_owner_learns_what_is_finished_given_back_ambiguous_or_forgotten(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    async def previous_owner() -> None:
        producer = AsyncProducer(kafka_bootstrap)
        await producer.start()
        log = IntentLog.on_kafka(kafka_bootstrap, topics.dispatch_state, producer, str(tmp_path / "a"), window=DAY)
        acked: list[str] = []
        await log.record_sending(1, "finished-early")
        log.record_done(1, "finished-early", 10, b"result-1", lambda: acked.append("1"))
        await log.record_sending(1, "given-back")
        log.release(1, "given-back")
        await log.record_sending(1, "on-the-wire")
        # A crashed owner's DONE for input record 40, which the handing-over owner never read (it read up
        # to 20): its result may never have reached Kafka, so the marker must not vouch for it.
        log.record_done(1, "unread", 40, b"result-3", lambda: acked.append("3"))
        assert await producer.flush(10) == 0
        await log.hand_over(1, read_upto=20)  # a clean handover: everything above is acknowledged
        log.record_done(1, "finished-late", 12, b"result-2", lambda: acked.append("2"))  # then a crash
        assert await producer.flush(10) == 0 and acked == ["1", "3", "2"]
        await producer.close()

    asyncio.run(previous_owner())
    old = int((time.time() - 2 * DAY) * 1000)  # two days ago: past a one-day window
    raw = Producer({"bootstrap.servers": kafka_bootstrap})
    raw.produce(topics.dispatch_state, b"E" + (5).to_bytes(8, "big") + b"old", b"long-ago", 1, timestamp=old)
    raw.flush(10)

    async def next_owner() -> tuple[IntentLog, Restored]:
        log = IntentLog.on_kafka(
            kafka_bootstrap, topics.dispatch_state, AsyncProducer(kafka_bootstrap), str(tmp_path / "b"), DAY
        )
        return log, await log.restore(1)

    log, restored = asyncio.run(next_owner())
    early, late, wire = log.lookup("finished-early"), log.lookup("finished-late"), log.lookup("on-the-wire")
    assert early is not None and early.finished_record(10) and early.result == b"result-1"
    assert not early.finished_record(11)  # the same request_id in another input record: a repeat
    assert late is not None and late.intent is Intent.DONE and not late.finished_record(12)  # after the marker
    assert wire is not None and wire.intent is Intent.SENDING
    unread = log.lookup("unread")
    assert unread is not None and unread.intent is Intent.DONE and not unread.finished_record(40)
    assert log.lookup("given-back") is None and log.lookup("long-ago") is None
    assert (restored.requests, restored.expired) == (4, 1)
    assert asyncio.run(next_owner())[0].lookup("on-the-wire") is not None  # restores are repeatable
