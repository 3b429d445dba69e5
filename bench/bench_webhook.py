"""Webhook throughput on loopback: concurrent HTTP clients post chat-status callbacks to a connector
process (webhook role only); each 200 means Kafka acknowledged the record (DESIGN.md section 10).

The load comes from wrk (Debian package `wrk`) when it is installed, a C client that leaves the CPU to
the server; otherwise from httpx clients in this process, which saturate long before the server does.

    .venv/bin/python bench/bench_webhook.py [--callbacks 20000] [--clients 64] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from connector.devstack.kafka_broker import existing_or_local_broker, free_port
from connector.devstack.stack import create_topics, prefixed_topics

TOKEN = "bench-token"


def start_connector(bootstrap: str, prefix: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    topics = prefixed_topics(prefix).model_dump()
    lines = ["roles: [webhook]", "log_level: WARNING", "kafka:", f"  bootstrap_servers: '{bootstrap}'", "  topics:"]
    lines += [f"    {key}: {value}" for key, value in topics.items()]
    lines += ["http:", "  host: 127.0.0.1", f"  port: {port}"]
    config = workdir / "webhook.yaml"
    config.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "VIHAT_WEBHOOK__TOKEN": TOKEN}
    return subprocess.Popen([sys.executable, "-m", "connector.cli", "run", "--config", str(config)], env=env)


async def wait_ready(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("webhook not ready")


async def drive(url: str, total: int, clients: int, time_limit: float) -> tuple[Counter[int], list[float], float]:
    codes: Counter[int] = Counter()
    latencies: list[float] = []
    next_id = iter(range(total))
    deadline = time.monotonic() + time_limit

    async def worker() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for i in next_id:
                if time.monotonic() > deadline:
                    return
                body = {
                    "status": "DELIVERED",
                    "message_id": f"bench-{i}",
                    "time": "2021-12-15T13:55:03.953",
                    "phone_number": "84968501615",
                    "channel": "Viber",
                    "time_zone": "GMT/UTC +7",
                }
                started = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                codes[response.status_code] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return codes, latencies, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, clients: int, seconds: float, pid: int, delay_ms: float = 0.0) -> float:
    """One wrk run; returns the acknowledged callbacks per second. `delay_ms` paces each connection."""
    script = Path(__file__).with_name("wrk_chat_status.lua")
    cpu_before = cpu_seconds(pid)
    result = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "WRK_DELAY_MS": str(int(delay_ms))},
    )
    cpu = cpu_seconds(pid) - cpu_before
    lines = result.stdout.splitlines()
    summary = next(line for line in lines if line.startswith("Requests/sec"))
    count = next(line for line in lines if "requests in" in line).split()[0]
    errors = [line.strip() for line in lines if "Non-2xx" in line or "Socket errors" in line]
    percentiles = {line.split()[0]: line.split()[1] for line in lines if line.strip()[:3] in ("50%", "99%")}
    rate = float(summary.split()[1])
    load = f"paced, {delay_ms:.0f} ms between requests per connection" if delay_ms else "as fast as answered"
    print(
        f"webhook (wrk, {clients} connections, {load}, {seconds:.0f}s): {count} callbacks acknowledged by Kafka, "
        f"{rate:,.0f}/s; {errors or 'no errors'}; {cpu / max(1, int(count)) * 1e6:.0f} us of connector CPU each"
    )
    print(
        f"  latency (request -> 200 after the broker's ack): p50 {percentiles.get('50%')}, p99 {percentiles.get('99%')}"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=15.0, help="wrk run length")
    args = parser.parse_args()
    bootstrap, broker = existing_or_local_broker()
    prefix = f"whbench{int(time.time())}"
    create_topics(bootstrap, prefixed_topics(prefix))
    port = free_port()
    connector = start_connector(bootstrap, prefix, port, Path(tempfile.mkdtemp(prefix="vihat-whbench-")))
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_ready(base))
        if shutil.which("wrk"):
            url = f"{base}/callbacks/chat-status/{TOKEN}"
            rate = run_wrk(url, args.clients, args.seconds, connector.pid)
            paced = 16  # connections for the paced run; each waits so that together they send rate / 2
            run_wrk(url, paced, args.seconds, connector.pid, delay_ms=paced / (rate / 2) * 1000)
            return 0
        codes, latencies, elapsed = asyncio.run(
            drive(f"{base}/callbacks/chat-status/{TOKEN}", args.callbacks, args.clients, args.time_limit)
        )
    finally:
        connector.terminate()
        connector.wait(30)
        if broker is not None:
            broker.cleanup()
    accepted = codes.get(200, 0)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"webhook: {accepted:,} callbacks acknowledged by Kafka in {elapsed:.1f}s = {accepted / elapsed:,.0f}/s "
        f"with {args.clients} concurrent clients; responses {dict(codes)}"
    )
    print(f"  latency (request -> 200 after the broker's ack): p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms")
    return 0 if accepted == sum(codes.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
