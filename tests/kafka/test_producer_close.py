"""Closing the producer serves the last delivery callbacks on the event loop's thread: they answer SMSCs
and resolve futures, which no other thread may do (a rolling restart once died of exactly that)."""

from __future__ import annotations

import asyncio
import threading

from confluent_kafka import KafkaError

from connector.config import Topics
from connector.kafka.producer import AsyncProducer


def test_close_runs_the_last_delivery_callbacks_on_the_loop_thread(kafka_bootstrap: str, topics: Topics) -> None:
    async def scenario() -> tuple[int, set[int], int, int]:
        producer = AsyncProducer(kafka_bootstrap)
        await producer.start()
        threads: set[int] = set()
        acked = 0

        def on_ack(error: KafkaError | None) -> None:
            nonlocal acked
            threads.add(threading.get_ident())
            asyncio.get_running_loop()  # raises off the loop's thread
            acked += error is None

        for n in range(200):
            producer.produce(topics.submit_results, f"k{n}", b"v", on_ack)
        remaining = await producer.close()  # straight away: most acknowledgements are still to come
        return remaining, threads, acked, threading.get_ident()

    remaining, threads, acked, loop_thread = asyncio.run(scenario())
    assert remaining == 0 and acked == 200
    assert threads == {loop_thread}
