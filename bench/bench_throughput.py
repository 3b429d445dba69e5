"""End-to-end throughput and latency on this machine (DESIGN.md section 10).

One run measures, with the simulator's throttle off and 4 binds:
  1. the raw SMPP ceiling: pipelined submit_sm through the same bind pool and codec, no Kafka;
  2. end to end: a backlog of requests in the input topic → submit results, with DLRs flowing;
  3. latency at about half that rate: requests produced at a steady pace, p50/p99 consumed → answered.
The simulator and the connector each run in their own process, as in production.

    .venv/bin/python bench/bench_throughput.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from connector.devstack.kafka_broker import existing_or_local_broker, free_port
from connector.devstack.stack import TopicReader, create_topics, prefixed_topics, produce_requests, sms_request
from connector.ratelimit import RateLimit
from connector.schemas import SchemaName
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from connector.smpp.encoding import encode_text
from connector.smpp.pool import BindPool, PoolSettings
from connector.smpp.session import Endpoint
from connector.smpp.status import CommandStatus

BINDS = 4


def start_simulator(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connector.cli",
            "simulate",
            "--port",
            str(port),
            "--throttle-rate",
            "0",
            "--dlr-delay",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "SMSC simulator on ..."
    return process


async def raw_ceiling(port: int, count: int) -> float:
    async def accept(_pdu: object) -> int:
        return CommandStatus.ESME_ROK

    pool = BindPool(
        PoolSettings(Endpoint("127.0.0.1", port, DEMO_SYSTEM_ID, DEMO_PASSWORD), binds=BINDS, rate=RateLimit(0)), accept
    )
    await pool.start()
    await pool.wait_bound(10)
    message = encode_text("Your code is 123456", force_unicode=None, reference=1)
    in_flight = asyncio.Semaphore(BINDS * 10 * 4)

    async def one() -> None:
        async with in_flight:
            await pool.submit(message, "84968501615", "VIHAT", time.monotonic() + 60)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return count / elapsed


def start_connector(bootstrap: str, topics_prefix: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    config = workdir / "connector.yaml"
    topics = prefixed_topics(topics_prefix).model_dump()
    lines = ["kafka:", f"  bootstrap_servers: '{bootstrap}'", f"  group_id: bench-{topics_prefix}", "  topics:"]
    lines += [f"    {key}: {value}" for key, value in topics.items()]
    lines += [
        "smpp:",
        f"  port: {port}",
        f"  binds: {BINDS}",
        "  rate_per_bind: 0",
        "dispatcher:",
        "  summary_interval: 5",
        "log_level: WARNING",
        "http:",
        "  host: 127.0.0.1",
        "  port: 0",
    ]
    config.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "VIHAT_SMPP__SYSTEM_ID": DEMO_SYSTEM_ID, "VIHAT_SMPP__PASSWORD": DEMO_PASSWORD}
    return subprocess.Popen([sys.executable, "-m", "connector.cli", "run", "--config", str(config)], env=env)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latencies_ms(records: list[dict[str, object]]) -> list[float]:
    return [(r["completed_at"] - r["received_at"]).total_seconds() * 1000 for r in records]  # type: ignore[operator]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--raw", type=int, default=20_000)
    args = parser.parse_args()

    bootstrap, broker = existing_or_local_broker()
    port = free_port()
    simulator = start_simulator(port)
    workdir = Path(tempfile.mkdtemp(prefix="vihat-bench-"))
    connector: subprocess.Popen[bytes] | None = None
    try:
        raw = asyncio.run(raw_ceiling(port, args.raw))
        print(f"raw SMPP ceiling (no Kafka, {BINDS} binds, pipelined): {raw:,.0f} submit_sm/s", flush=True)

        prefix = f"bench{int(time.time())}"
        topics = prefixed_topics(prefix)
        create_topics(bootstrap, topics)
        produce_requests(
            bootstrap,
            topics.send_requests,
            (sms_request(f"b{i}", "84968501615", f"Your code is {i:06d}") for i in range(args.requests)),
        )
        connector = start_connector(bootstrap, prefix, port, workdir)
        results = TopicReader(bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
        records = results.read_until(args.requests, timeout=600)
        first = min(r["received_at"] for r in records)
        last = max(r["completed_at"] for r in records)
        throughput = len(records) / (last - first).total_seconds()
        accepted = sum(1 for r in records if r["status"] == "ACCEPTED")
        backlog = latencies_ms(records)
        print(
            f"end to end, backlog of {args.requests:,} requests: {throughput:,.0f} requests/s "
            f"({accepted:,} accepted), {throughput / raw:.0%} of the raw ceiling",
            flush=True,
        )
        print(
            f"  latency under backlog (consumed -> answered, bounded by max_in_flight): "
            f"p50 {percentile(backlog, 50):.1f} ms, p99 {percentile(backlog, 99):.1f} ms",
            flush=True,
        )

        # Steady load at half the measured rate, for the added latency.
        rate = throughput / 2
        paced = int(rate * 5)
        started = time.perf_counter()
        batch = 50
        for start in range(0, paced, batch):
            produce_requests(
                bootstrap,
                topics.send_requests,
                [sms_request(f"p{i}", "84968501615", f"code {i}") for i in range(start, start + batch)],
            )
            delay = started + (start + batch) / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        records = results.read_until(args.requests + paced, timeout=120)[args.requests :]
        steady = latencies_ms(records)
        print(
            f"steady load at {rate:,.0f} requests/s for 5 s ({len(records):,} results): "
            f"p50 {percentile(steady, 50):.1f} ms, p99 {percentile(steady, 99):.1f} ms",
            flush=True,
        )
        results.close()
    finally:
        if connector is not None:
            connector.terminate()
            connector.wait(60)
        simulator.terminate()
        simulator.wait(10)
        if broker is not None:
            broker.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
