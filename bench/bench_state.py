"""State that does not grow forever (issue 11): restore time and topic size of the dispatcher's intent
log with 1,000,000 requests inside the idempotency window, and again once they are past it.

    .venv/bin/python bench/bench_state.py [--entries 1000000]

Part 1 writes `entries` DONE records (a realistic SubmitResult each) to one partition of a state topic
created as the connector creates it, then times a restore into the local store. Part 2 writes the same
number with timestamps eight days old to a topic with the default seven-day window: the broker's
retention deletes their segments and the restore skips whatever is left, so the cost of a rebalance
stays bounded by the window, not by the age of the deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from pathlib import Path

from confluent_kafka import Producer

from connector.config import Role, Settings
from connector.devstack.kafka_broker import LocalKafka, existing_or_local_broker
from connector.devstack.stack import prefixed_topics, sms_request
from connector.dispatcher.intents import IntentLog, Restored
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import SingleObjectSerde
from connector.kafka.topics import ensure_topics
from connector.records import ResultStatus, submit_result
from connector.requests import Route, SendRequest
from connector.schemas import SchemaName

DAY = 86_400.0


def fill(bootstrap: str, topic: str, entries: int, timestamp_ms: int | None) -> None:
    result = SingleObjectSerde(SchemaName.SUBMIT_RESULT).encode(
        submit_result(
            SendRequest.from_record(sms_request("r", "84968501615", "hello")),
            ResultStatus.ACCEPTED,
            received_at=time.time(),
            completed_at=time.time(),
            route=Route.SMPP,
            provider_code="ESME_ROK",
            message_ids=["5f3a9c27d1e84b06"],
        )
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": "20", "compression.type": "lz4",
                         "queue.buffering.max.messages": "500000"})  # fmt: skip
    for n in range(entries):
        value = b"E" + n.to_bytes(8, "big") + result
        while True:
            try:
                if timestamp_ms is None:
                    producer.produce(topic, value, f"request-{n:08d}", 0)
                else:
                    producer.produce(topic, value, f"request-{n:08d}", 0, timestamp=timestamp_ms)
                break
            except BufferError:
                producer.poll(0.05)
        if n % 10_000 == 0:
            producer.poll(0)
    producer.flush(120)


def disk_bytes(broker: LocalKafka | None, topic: str) -> str:
    if broker is None or broker.data_dir is None:
        return "n/a (external broker)"
    size = sum(f.stat().st_size for f in (broker.data_dir / "logs").glob(f"{topic}-0/*.log"))
    return f"{size / 1e6:.1f} MB"


def restore(bootstrap: str, topic: str, workdir: Path) -> Restored:
    async def run() -> Restored:
        log = IntentLog.on_kafka(bootstrap, topic, AsyncProducer(bootstrap), str(workdir), window=7 * DAY)
        try:
            return await log.restore(0)
        finally:
            log.close()

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    bootstrap, broker = existing_or_local_broker()
    workdir = Path(f"/tmp/vihat-bench-state-{time.time_ns()}")
    try:
        for label, age_days in (("inside the idempotency window", 0), ("at the window's end (8 days old)", 8)):
            topics = prefixed_topics(f"state{time.time_ns()}")
            settings = Settings(kafka={"bootstrap_servers": bootstrap, "topics": topics.model_dump(), "partitions": 1},
                                dispatcher={"idempotency_window": 7 * DAY})  # fmt: skip
            ensure_topics(settings, [Role.DISPATCHER])
            topic = topics.dispatch_state
            started = time.monotonic()
            stamp = None if age_days == 0 else int((time.time() - age_days * DAY) * 1000)
            fill(bootstrap, topic, args.entries, stamp)
            written = time.monotonic() - started
            if age_days:
                time.sleep(20)  # the broker's retention check runs every 5 s here (1 day in production)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            restored = restore(bootstrap, topic, workdir / label.split()[0])
            grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
            print(
                f"{args.entries:,} requests {label}: written in {written:.1f}s; restore {restored.seconds:.2f}s, "
                f"{restored.records:,} records read, {restored.requests:,} kept, {restored.expired:,} past the "
                f"window; topic {disk_bytes(broker, topic)} on disk; peak RSS +{grown_mb:.0f} MB",
                flush=True,
            )
    finally:
        if broker is not None:
            broker.cleanup()


if __name__ == "__main__":
    main()
