"""What a record costs to produce, alone or in a burst (issue 13): why AsyncProducer hands librdkafka
the records of one event-loop turn together.

The same 30,000 records with a delivery callback each, produced one at a time, 3 at a time (about what
one request makes) or 30 at a time, with a pause between bursts so the producer's queues run empty as
they do in the connector. Printed per record: CPU inside produce(), the process's CPU, and per thread.

    .venv/bin/python bench/bench_produce.py [--records 30000] [--linger-ms 5]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from connector.devstack.kafka_broker import existing_or_local_broker
from connector.kafka.producer import DEFAULTS


def cpu_by_thread() -> dict[str, float]:
    threads: dict[str, float] = {}
    pid = os.getpid()
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        name = "main" if task.name == str(pid) else stat[stat.index("(") + 1 : stat.rindex(")")].rstrip("0123456789/")
        fields = stat.rsplit(")", 1)[1].split()
        threads[name] = threads.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return threads


def delivered(_error: KafkaError | None, _message: Message | None) -> None:
    pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--linger-ms", default=DEFAULTS["linger.ms"])
    args = parser.parse_args()
    bootstrap, broker = existing_or_local_broker()
    try:
        topic = f"bench-produce-{time.time_ns()}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(topic, 6, 1)]).values():
            future.result()
        producer = Producer({"bootstrap.servers": bootstrap, **DEFAULTS, "linger.ms": args.linger_ms})
        value = os.urandom(120)  # about a SubmitResult
        producer.produce(topic, value, b"warm-up")
        producer.flush()
        for burst in (1, 3, 30):
            before, started, inside = cpu_by_thread(), time.process_time(), 0.0
            for first in range(0, args.records, burst):
                entered = time.process_time()
                for number in range(first, first + burst):
                    producer.produce(topic, value, str(number), on_delivery=delivered)
                inside += time.process_time() - entered
                producer.poll(0)
                time.sleep(0.0003 * burst)  # the queues run empty between bursts, as in the connector
            producer.flush()
            after = cpu_by_thread()
            threads = ", ".join(
                f"{name} {(seconds - before.get(name, 0.0)) / args.records * 1e6:.1f}"
                for name, seconds in sorted(after.items(), key=lambda item: -item[1])
                if seconds - before.get(name, 0.0) > 0
            )
            print(
                f"bursts of {burst:2d}: produce() {inside / args.records * 1e6:5.1f} us per record, "
                f"process {(time.process_time() - started) / args.records * 1e6:5.1f} us ({threads})",
                flush=True,
            )
    finally:
        if broker is not None:
            broker.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
