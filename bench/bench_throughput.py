"""End-to-end throughput, CPU per request and latency on this machine (DESIGN.md section 10).

One run measures, with the simulator's throttle off and 4 binds:
  1. the raw SMPP ceiling: pipelined submit_sm through the same bind pool and codec, no Kafka;
  2. end to end, the full path, once a first backlog (`--warmup`, 10,000 requests, figures printed
     apart) has warmed the broker's JVM and the connector up: a backlog of requests in the input topic ->
     submit result, index entry, DLR and correlated delivery report for every request. The dispatcher
     and the correlator run in processes of their own, so the CPU each spent (user + system, from /proc)
     is printed per role, per request; the simulator's CPU is printed too, to show it was not the
     bottleneck. Records written per request (every output topic's end offset) and broker requests per
     request (librdkafka statistics, from each process's /metrics) are printed;
  3. latency at about half that rate (or `--steady R`): requests produced at a steady pace, p50/p99 from
     the dispatcher's consuming a request to its submit_sm written (DESIGN.md's added latency) and to its
     result, from the result's timestamps (milliseconds).

    .venv/bin/python bench/bench_throughput.py [--requests 20000] [--warmup 10000] [--window N] [--rate R] [--steady R]

With unthrottled binds the end-to-end rate is set by the binds' windows: a slot is held while the
request's intent is made durable and until the SMSC answers. `--window` shows how the rate follows it.
`--rate` limits each bind as a real account is (every request then waits for its token), for the CPU per
request of that path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from connector.devstack.kafka_broker import LocalKafka, existing_or_local_broker, free_port
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
    def accept(_pdu: object, respond: Callable[[int], None]) -> None:
        respond(CommandStatus.ESME_ROK)

    pool = BindPool(
        PoolSettings(  # no receipts: they would reach the connector later, as foreign DLRs
            Endpoint("127.0.0.1", port, DEMO_SYSTEM_ID, DEMO_PASSWORD),
            binds=BINDS,
            rate=RateLimit(0),
            registered_delivery=0,
        ),
        accept,
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_everything(
    connectors: dict[str, subprocess.Popen[bytes]], simulator: subprocess.Popen[bytes], broker: LocalKafka | None
) -> None:
    """SIGTERM to each connector (a graceful stop, through py-spy when profiling), then the simulator and
    the broker this run started."""
    for process in connectors.values():
        os.kill(connector_pid(process), signal.SIGTERM)
        process.wait(60)
    simulator.terminate()
    simulator.wait(10)
    if broker is not None:
        broker.cleanup()


def connector_pid(process: subprocess.Popen[bytes]) -> int:
    """The connector's own pid (py-spy's child when profiling)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    for _ in range(50):
        if "py-spy" not in Path(f"/proc/{process.pid}/cmdline").read_text():
            return process.pid
        pids = children.read_text().split()
        if pids:
            return int(pids[0])
        time.sleep(0.1)
    raise RuntimeError("py-spy did not start the connector")


def cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (librdkafka names its threads rdk:...; the event loop's is main, other
    Python threads keep the process's name)."""
    threads: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        name = "rdk:broker" if name.startswith("rdk:broker") else name.rstrip("0123456789_")
        if task.name == str(pid):
            name = "main"  # the event loop's thread; other Python threads keep the process's name
        fields = stat.rsplit(")", 1)[1].split()
        threads[name] = threads.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return threads


def kafka_requests(http_port: int) -> float:
    """Sum of vihat_kafka_requests_total over the process's clients (producer and consumers)."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5).read().decode()
    return sum(float(line.split()[-1]) for line in body.splitlines() if line.startswith("vihat_kafka_requests_total{"))


def wait_ready(http_port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"process on :{http_port} not ready after {timeout}s")


def end_offsets(bootstrap: str, topics: list[str]) -> dict[str, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-offsets"})
    try:
        ends = {}
        for topic in topics:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            ends[topic] = sum(
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
            )
        return ends
    finally:
        consumer.close()


def start_connector(
    bootstrap: str,
    topics_prefix: str,
    port: int,
    workdir: Path,
    role: str,
    http_port: int,
    profile: Path | None,
    cprofile: Path | None = None,
    window: int | None = None,
    rate: float = 0.0,
) -> subprocess.Popen[bytes]:
    config = workdir / f"{role}.yaml"
    topics = prefixed_topics(topics_prefix).model_dump()
    lines = [f"roles: [{role}]", "kafka:", f"  bootstrap_servers: '{bootstrap}'", f"  group_id: bench-{topics_prefix}"]
    lines += ["  topics:"]
    lines += [f"    {key}: {value}" for key, value in topics.items()]
    lines += [
        "smpp:",
        f"  port: {port}",
        f"  binds: {BINDS}",
        f"  rate_per_bind: {rate}",
        *([f"  window: {window}"] if window is not None else []),
        "dispatcher:",
        "  summary_interval: 5",
        "log_level: WARNING",
        "http:",
        "  host: 127.0.0.1",
        f"  port: {http_port}",
    ]
    config.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "VIHAT_SMPP__SYSTEM_ID": DEMO_SYSTEM_ID, "VIHAT_SMPP__PASSWORD": DEMO_PASSWORD}
    command = [sys.executable, "-m", "connector.cli", "run", "--config", str(config)]
    if cprofile is not None:  # deterministic: call counts per request, with cProfile's overhead on top
        command = [sys.executable, "-m", "cProfile", "-o", str(cprofile / f"{role}.prof"), *command[1:]]
    if profile is not None:  # py-spy as the parent: collapsed stacks, summarized by bench/profile_summary.py
        spy = str(Path(sys.executable).with_name("py-spy"))
        output = str(profile / f"{role}.txt")
        command = [spy, "record", "--format", "raw", "--rate", "200", "-o", output, "--", *command]
    return subprocess.Popen(command, env=env)


def run_backlog(
    bootstrap: str,
    topic: str,
    id_prefix: str,
    count: int,
    results: TopicReader,
    reports: TopicReader,
) -> tuple[list[dict[str, Any]], float]:
    """Put `count` requests in the input topic at once and wait for a result and a correlated report for
    each; their results, and the seconds from the first produced to the last report read. The readers
    carry on from where the previous backlog left them."""
    already = len(results.raw)
    started = time.perf_counter()
    produce_requests(
        bootstrap, topic, (sms_request(f"{id_prefix}{i}", "84968501615", f"Your code is {i:06d}") for i in range(count))
    )
    records = results.read_until(already + count, timeout=600)[already:]
    reports.read_until(already + count, timeout=600)
    return records, time.perf_counter() - started


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latencies_ms(records: list[dict[str, Any]], until: str = "completed_at") -> list[float]:
    """Milliseconds from the dispatcher's consuming each request to `until` (a result's timestamp)."""
    return [(r[until] - r["received_at"]).total_seconds() * 1000 for r in records if r[until] is not None]


def paced_requests(count: int, rate: float) -> Iterator[dict[str, Any]]:
    """`count` requests, handed out at `rate` per second, a few every 2 ms."""
    started = time.perf_counter()
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0.002:
            time.sleep(delay)
        yield sms_request(f"p{i}", "84968501615", f"code {i}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--raw", type=int, default=20_000)
    parser.add_argument("--profile", type=Path, help="record each role with py-spy into this directory")
    parser.add_argument("--cprofile", type=Path, help="run each role under cProfile, stats into this directory")
    parser.add_argument("--window", type=int, help="smpp.window of the connector (its default otherwise)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="submit_sm per second per bind, as an account has (0: unlimited)"
    )
    parser.add_argument(
        "--warmup", type=int, default=10_000, help="requests sent through the stack before measuring (0: none)"
    )
    parser.add_argument(
        "--steady", type=float, default=0.0, help="requests per second of the latency run (0: half the measured rate)"
    )
    args = parser.parse_args()

    bootstrap, broker = existing_or_local_broker()
    port = free_port()
    simulator = start_simulator(port)
    workdir = Path(tempfile.mkdtemp(prefix="vihat-bench-"))
    connectors: dict[str, subprocess.Popen[bytes]] = {}
    try:
        simulator_cpu, raw_started, own_cpu = cpu_seconds(simulator.pid), time.perf_counter(), time.process_time()
        raw = asyncio.run(raw_ceiling(port, args.raw))
        simulator_share = (cpu_seconds(simulator.pid) - simulator_cpu) / (time.perf_counter() - raw_started)
        print(
            f"raw SMPP ceiling (no Kafka, {BINDS} binds, pipelined): {raw:,.0f} submit_sm/s, "
            f"{(time.process_time() - own_cpu) / args.raw * 1e6:.0f} us of CPU per submit_sm "
            f"(simulator used {simulator_share:.0%} of one core)",
            flush=True,
        )

        prefix = f"bench{int(time.time())}"
        topics = prefixed_topics(prefix)
        create_topics(bootstrap, topics)
        ports = {role: free_port() for role in ("dispatcher", "correlator")}
        outputs = [
            topics.dispatch_state,
            topics.submit_results,
            topics.message_index,
            topics.reports_raw,
            topics.delivery_reports,
        ]
        connectors = {
            role: start_connector(
                bootstrap,
                prefix,
                port,
                workdir,
                role,
                ports[role],
                args.profile,
                args.cprofile,
                args.window,
                args.rate,
            )
            for role in ports
        }
        for http_port in ports.values():
            wait_ready(http_port)
        pids = {role: connector_pid(process) for role, process in connectors.items()} | {"simulator": simulator.pid}
        if broker is not None and broker.pid is not None:  # a broker of this run's own: its CPU is printed too
            pids["broker"] = broker.pid
        results = TopicReader(bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
        reports = TopicReader(bootstrap, topics.delivery_reports, None)
        if args.warmup:  # a broker's JVM compiles its hot paths in its first seconds: measure after that
            cpu_before = {role: cpu_seconds(pids[role]) for role in ports}
            _, seconds = run_backlog(bootstrap, topics.send_requests, "w", args.warmup, results, reports)
            cold_cpu = sum(cpu_seconds(pids[role]) - cpu_before[role] for role in ports)
            print(
                f"warm-up (broker and connector just started, not measured below): {args.warmup:,} requests "
                f"in {seconds:.1f} s, {args.warmup / seconds:,.0f} requests/s, connector CPU per request "
                f"{cold_cpu / args.warmup * 1e6:.0f} us",
                flush=True,
            )
        written_before = end_offsets(bootstrap, outputs)
        cpu_before = {role: cpu_seconds(pid) for role, pid in pids.items()}
        threads_before = {role: cpu_by_thread(pids[role]) for role in ports}
        time.sleep(5.5)  # one statistics interval, so the request counters below start from a fresh value
        requests_before = {role: kafka_requests(http_port) for role, http_port in ports.items()}
        records, full_path = run_backlog(bootstrap, topics.send_requests, "b", args.requests, results, reports)
        cpu = {role: cpu_seconds(pid) - cpu_before[role] for role, pid in pids.items()}
        threads = {role: cpu_by_thread(pids[role]) for role in ports}
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
            f"  full path (request produced -> result and correlated report for all): {full_path:.1f} s, "
            f"{args.requests / full_path:,.0f} requests/s",
            flush=True,
        )
        per_request = {role: seconds / args.requests * 1e6 for role, seconds in cpu.items()}
        print(
            "  CPU per request: "
            + ", ".join(f"{role} {per_request[role]:.0f} us" for role in ports)
            + f", connector total {sum(per_request[role] for role in ports):.0f} us"
            + f" (simulator {per_request['simulator']:.0f} us, {cpu['simulator'] / full_path:.0%} of one core"
            + (f"; broker {per_request['broker']:.0f} us" if "broker" in per_request else "")
            + ")",
            flush=True,
        )
        for role in ports:
            spent = {name: seconds - threads_before[role].get(name, 0.0) for name, seconds in threads[role].items()}
            print(
                f"    {role} threads (us per request): "
                + ", ".join(
                    f"{name} {seconds / args.requests * 1e6:.0f}"
                    for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
                    if seconds > 0
                ),
                flush=True,
            )
        time.sleep(5.5)  # the last statistics interval
        broker_requests = sum(kafka_requests(http_port) - requests_before[role] for role, http_port in ports.items())
        written = {topic: count - written_before[topic] for topic, count in end_offsets(bootstrap, outputs).items()}
        per_topic = ", ".join(f"{topic.split('.')[-1]} {count / args.requests:.2f}" for topic, count in written.items())
        print(
            f"  records written per request: {sum(written.values()) / args.requests:.2f} ({per_topic}); "
            f"broker requests per request: {broker_requests / args.requests:.3f}",
            flush=True,
        )
        print(
            f"  latency under backlog (consumed -> answered, bounded by max_in_flight): "
            f"p50 {percentile(backlog, 50):.1f} ms, p99 {percentile(backlog, 99):.1f} ms",
            flush=True,
        )
        reports.close()

        # Steady load at half the measured rate, for the added latency: one producer, a few requests at
        # a time, so the load arrives as a steady stream and not in bursts.
        rate = args.steady or throughput / 2
        paced = int(rate * 5)
        produce_requests(bootstrap, topics.send_requests, paced_requests(paced, rate))
        measured = args.warmup + args.requests
        records = results.read_until(measured + paced, timeout=120)[measured:]
        written, answered = latencies_ms(records, "submitted_at"), latencies_ms(records, "completed_at")
        print(f"steady load at {rate:,.0f} requests/s for 5 s ({len(records):,} results):", flush=True)
        for name, latencies in (("submit_sm written", written), ("answered", answered)):
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            print(f"  consumed -> {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
        results.close()
    finally:
        stop_everything(connectors, simulator, broker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
