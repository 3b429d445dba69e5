"""Memory with a large backlog (DESIGN.md section 10): 1,000,000 requests wait in the input topic, then a
dispatcher and a correlator (one process each) work through it for a while. Prints each process's peak
RSS (VmHWM) and where the backlog stood; what is held is bounded by `dispatcher.max_in_flight` and the
buffer horizon, so the backlog stays in Kafka, not in memory.

    .venv/bin/python bench/bench_memory.py [--requests 1000000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_throughput import connector_pid, start_connector, start_simulator, stop_everything, wait_ready

from connector.devstack.kafka_broker import existing_or_local_broker, free_port
from connector.devstack.stack import TopicReader, create_topics, prefixed_topics, produce_requests, sms_request


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the roles work on the backlog")
    args = parser.parse_args()
    bootstrap, broker = existing_or_local_broker()
    port = free_port()
    simulator = start_simulator(port)
    workdir = Path(tempfile.mkdtemp(prefix="vihat-membench-"))
    connectors = {}
    try:
        prefix = f"mem{int(time.time())}"
        topics = prefixed_topics(prefix)
        create_topics(bootstrap, topics)
        started = time.perf_counter()
        produce_requests(
            bootstrap,
            topics.send_requests,
            (sms_request(f"m{i}", "84968501615", f"Your code is {i:06d}") for i in range(args.requests)),
        )
        print(f"backlog: {args.requests:,} requests in the input topic ({time.perf_counter() - started:.0f} s)")
        ports = {role: free_port() for role in ("dispatcher", "correlator")}
        connectors = {
            role: start_connector(bootstrap, prefix, port, workdir, role, ports[role], None) for role in ports
        }
        for http_port in ports.values():
            wait_ready(http_port)
        pids = {role: connector_pid(process) for role, process in connectors.items()}
        results = TopicReader(bootstrap, topics.submit_results, None)
        deadline = time.monotonic() + args.seconds
        peak_rss = dict.fromkeys(pids, 0)
        while time.monotonic() < deadline:
            results.read_until(len(results.raw) + 50_000, timeout=1.0)
            for role, pid in pids.items():
                peak_rss[role] = max(peak_rss[role], memory_kib(pid, "VmRSS"))
        done = len(results.raw)
        results.close()
        for role, pid in pids.items():
            print(
                f"{role}: peak RSS {memory_kib(pid, 'VmHWM') / 1024:.0f} MB "
                f"(sampled {peak_rss[role] / 1024:.0f} MB), after {args.seconds:.0f} s on the backlog",
                flush=True,
            )
        print(f"  results written meanwhile: {done:,}; still waiting in Kafka: {args.requests - done:,}")
    finally:
        stop_everything(connectors, simulator, broker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
