"""Crash and shutdown: kill -9 mid-stream, then SIGTERM mid-stream. Each prints its figures."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from connector.config import Topics
from connector.devstack.stack import ConnectorProcess, produce_requests, sms_request
from connector.simulator import SimulatorThread
from tests.faults.conftest import SMPP_ENV, Tally, duplicate_sends, kill_and_restart, process_settings

pytestmark = pytest.mark.integration


def committed_total(bootstrap: str, group: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
        return sum(max(tp.offset, 0) for tp in committed)
    finally:
        consumer.close()


def test_kill_9_mid_stream_loses_nothing_and_sends_nothing_twice(
    kafka_bootstrap: str, topics: Topics, simulator_factory: Callable[..., SimulatorThread], tmp_path: Path
) -> None:
    count = 5000
    simulator = simulator_factory(throttle_rate=0, dlr_delay=0.2)
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"k9-{i}", "84968501615", f"kill test {i}") for i in range(count)],
    )
    settings = process_settings(kafka_bootstrap, topics, simulator.port, "kill9")
    settings["kafka"]["group_instance_id"] = "vihat-pod-0"  # static membership, as the Helm chart sets it
    tally = Tally.open(kafka_bootstrap, topics)
    try:
        run = kill_and_restart(settings, tmp_path, tally, results_before_kill=1500, count=count, timeout=180)
    finally:
        tally.close()
    distinct, outcomes = run.distinct, tally.outcomes()
    duplicates = duplicate_sends(simulator.simulator)
    print(
        f"\nkill -9 after {run.finished_before} results: {count} requests, {distinct} with a final result, "
        f"{count - distinct} lost, {tally.records} result records, outcomes {dict(outcomes)}, "
        f"{duplicates} duplicate sends seen by the SMSC, first result {run.first_result:.1f}s and all results "
        f"{run.all_results:.1f}s after the kill"
    )
    assert distinct == count
    assert tally.conflicting == []
    assert duplicates == 0  # report-unknown: an ambiguous SMPP request is reported, never resent
    binds, window = settings["smpp"]["binds"], 10
    assert outcomes["AMBIGUOUS"] <= binds * window  # only what held a window slot can be ambiguous


def test_sigterm_drains_commits_unbinds_and_exits_0(
    kafka_bootstrap: str, topics: Topics, simulator_factory: Callable[..., SimulatorThread], tmp_path: Path
) -> None:
    count = 3000
    simulator = simulator_factory(throttle_rate=0, dlr_delay=0.2)
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"st-{i}", "84968501615", f"sigterm test {i}") for i in range(count)],
    )
    settings = process_settings(kafka_bootstrap, topics, simulator.port, "sigterm")
    tally = Tally.open(kafka_bootstrap, topics)
    process = ConnectorProcess(settings, tmp_path, SMPP_ENV).start()
    try:
        tally.read_until_distinct(800, timeout=90)
        process.signal(signal.SIGTERM)
        started = time.monotonic()
        code = process.wait(settings["dispatcher"]["shutdown_timeout"] + 15)
        took = time.monotonic() - started
    finally:
        process.kill()
    tally.read_until_distinct(count, timeout=3)  # whatever was acknowledged before the exit
    committed = committed_total(kafka_bootstrap, "sigterm", topics.send_requests)
    finished = len(tally.by_request)
    print(
        f"\nSIGTERM: exit code {code} after {took:.1f}s, {finished} requests finished, {committed} offsets "
        f"committed, {simulator.simulator.stats.unbinds} unbinds"
    )
    assert code == 0 and took < settings["dispatcher"]["shutdown_timeout"] + 10
    # Commits stop at the first request given back unsent; finished ones past it are re-read and skipped.
    assert 0 < committed <= finished
    assert simulator.simulator.stats.unbinds == 2

    rest = ConnectorProcess(settings, tmp_path, SMPP_ENV).start()
    try:
        assert tally.read_until_distinct(count, timeout=120) == count
    finally:
        rest.signal(signal.SIGTERM)
        rest.wait(60)
        tally.close()
    assert tally.conflicting == [] and "AMBIGUOUS" not in tally.outcomes()
    assert duplicate_sends(simulator.simulator) == 0
    assert tally.records == count  # a clean handover: nothing published twice
