"""A replica added and one removed mid-stream, and the broker stopped for 20 s mid-stream."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from connector.config import Settings, Topics
from connector.devstack.kafka_broker import LocalKafka
from connector.devstack.stack import ConnectorThread, create_topics, prefixed_topics, produce_requests, sms_request
from connector.simulator import SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from tests.faults.conftest import Tally, duplicate_sends

pytestmark = pytest.mark.integration


def replica(bootstrap: str, topics: Topics, smsc_port: int, group: str) -> ConnectorThread:
    settings = Settings(
        kafka={
            "bootstrap_servers": bootstrap,
            "topics": topics.model_dump(),
            "group_id": group,
            "producer": {"log_level": "0"},
            "consumer": {"log_level": "0"},
        },
        smpp={
            "port": smsc_port,
            "system_id": DEMO_SYSTEM_ID,
            "password": DEMO_PASSWORD,
            "binds": 2,
            "rate_per_bind": 100,
            "reconnect_base": 0.1,
        },
        http={"host": "127.0.0.1", "port": 0},
        dispatcher={"max_in_flight": 100, "ambiguous_grace": 5.0},
    )
    return ConnectorThread(settings).start(wait_assigned=60)


def test_replica_added_and_removed_mid_stream(
    kafka_bootstrap: str, topics: Topics, simulator_factory: Callable[..., SimulatorThread]
) -> None:
    count = 3000
    simulator = simulator_factory(throttle_rate=0, dlr_delay=0.2)
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"rb-{i}", "84968501615", f"rebalance test {i}") for i in range(count)],
    )
    tally = Tally.open(kafka_bootstrap, topics)
    first = replica(kafka_bootstrap, topics, simulator.port, "rebalance")
    tally.read_until_distinct(500, timeout=60)
    second = replica(kafka_bootstrap, topics, simulator.port, "rebalance")  # a replica joins
    tally.read_until_distinct(1500, timeout=60)
    started = time.monotonic()
    first.stop()  # a replica leaves (graceful: it drains what it holds)
    distinct = tally.read_until_distinct(count, timeout=120)
    took = time.monotonic() - started
    second.stop()
    tally.close()
    duplicates = duplicate_sends(simulator.simulator)
    dispatchers = [r.connector.dispatcher for r in (first, second) if r.connector.dispatcher]
    consumed = [d.consumed for d in dispatchers]
    waited = sum(d.ambiguous for d in dispatchers)
    repeated = tally.records - distinct
    print(
        f"\nrebalance: {count} requests, consumed {consumed} by the two replicas, {distinct} finished, "
        f"{count - distinct} lost, {duplicates} sent twice, {repeated} repeated result records, "
        f"{waited} requests waited the grace period, given back {[d.released for d in dispatchers]}, "
        f"skipped as finished {[d.skipped for d in dispatchers]}, outcomes {dict(tally.outcomes())}, "
        f"rest finished {took:.1f}s after the first replica left"
    )
    assert distinct == count and duplicates == 0 and tally.conflicting == []
    assert min(consumed) > 0 and "AMBIGUOUS" not in tally.outcomes()
    assert repeated == 0 and waited == 0  # a planned rebalance repeats nothing and waits for nothing


def test_broker_down_for_20_seconds_mid_stream(
    own_broker: LocalKafka, simulator_factory: Callable[..., SimulatorThread]
) -> None:
    count = 2000
    bootstrap = own_broker.bootstrap_servers
    topics = prefixed_topics("outage")
    create_topics(bootstrap, topics)
    simulator = simulator_factory(throttle_rate=0, dlr_delay=0.2)
    produce_requests(
        bootstrap,
        topics.send_requests,
        [sms_request(f"bo-{i}", "84968501615", f"outage test {i}") for i in range(count)],
    )
    tally = Tally.open(bootstrap, topics)
    connector = replica(bootstrap, topics, simulator.port, "outage")
    tally.read_until_distinct(400, timeout=60)
    own_broker.stop()
    stopped = time.monotonic()
    sent_during: Any = simulator.simulator.stats.submits
    time.sleep(20)
    sent_during = simulator.simulator.stats.submits - sent_during
    own_broker.start()
    distinct = tally.read_until_distinct(count, timeout=180)
    recovered = time.monotonic() - stopped - 20
    connector.stop()
    tally.close()
    duplicates = duplicate_sends(simulator.simulator)
    print(
        f"\nbroker down 20 s: {count} requests, {distinct} finished, {count - distinct} lost, {duplicates} sent "
        f"twice, {sent_during} submits while the broker was down, all finished {recovered:.1f}s after it "
        f"returned, outcomes {dict(tally.outcomes())}"
    )
    assert distinct == count and duplicates == 0 and tally.conflicting == []
