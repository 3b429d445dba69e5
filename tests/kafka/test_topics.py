"""Topics on a real cluster: created at start-up where missing, checked where present, and a clear,
quick error where they are missing and may not be created (issue 10: first contact)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType  # type: ignore[attr-defined]

from connector.config import Role, Settings, Topics
from connector.devstack.kafka_broker import free_port
from connector.devstack.stack import ConnectorThread, TopicReader, prefixed_topics, produce_requests, sms_request
from connector.errors import TopicError
from connector.kafka.topics import ensure_topics
from connector.schemas import SchemaName
from connector.simulator import SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID

pytestmark = pytest.mark.integration


def fresh_topics() -> Topics:
    return prefixed_topics(f"fresh{uuid.uuid4().hex[:8]}")


def describe(bootstrap: str, name: str) -> tuple[int, dict[str, str]]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partitions = len(admin.list_topics(name, timeout=10).topics[name].partitions)
    [future] = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)]).values()
    return partitions, {key: entry.value for key, entry in future.result().items()}


def settings_for(bootstrap: str, topics: Topics, **kafka: Any) -> Settings:
    return Settings(kafka={"bootstrap_servers": bootstrap, "topics": topics.model_dump(), **kafka})


def test_an_empty_cluster_gets_every_topic_with_its_configs_and_a_first_sms_goes_through(
    kafka_bootstrap: str, simulator_factory: Callable[..., SimulatorThread]
) -> None:
    topics = fresh_topics()
    simulator = simulator_factory(throttle_rate=0)
    settings = Settings(
        roles=["dispatcher", "webhook", "correlator"],
        kafka={"bootstrap_servers": kafka_bootstrap, "topics": topics.model_dump(), "partitions": 3},
        smpp={"port": simulator.port, "system_id": DEMO_SYSTEM_ID, "password": DEMO_PASSWORD, "binds": 1},
        webhook={"token": "t"},
        http={"host": "127.0.0.1", "port": 0},
        dispatcher={"idempotency_window": 86_400},
    )
    connector = ConnectorThread(settings)
    problems = asyncio.run(connector.connector.readiness())
    assert any("topics" in problem for problem in problems), problems  # /readyz says why
    connector.start(wait_assigned=60)
    try:
        for name in topics.model_dump().values():
            assert describe(kafka_bootstrap, name)[0] == 3, name
        _, state = describe(kafka_bootstrap, topics.dispatch_state)
        _, index = describe(kafka_bootstrap, topics.message_index)
        assert state["cleanup.policy"] == "compact,delete" and state["retention.ms"] == "86400000"
        assert index["cleanup.policy"] == "compact,delete" and index["retention.ms"] == str(3 * 86_400_000)
        produce_requests(kafka_bootstrap, topics.send_requests, [sms_request("first", "84968501615", "hello")])
        results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
        reports = TopicReader(kafka_bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
        try:
            [result] = results.read_until(1, timeout=30)
            [report] = reports.read_until(1, timeout=30)
        finally:
            results.close()
            reports.close()
        assert result["status"] == "ACCEPTED" and report["request_id"] == "first"
        assert asyncio.run(connector.connector.readiness()) == []
    finally:
        connector.stop()


def test_a_compacted_topic_that_is_not_compacted_is_named_with_the_fix(kafka_bootstrap: str) -> None:
    topics = fresh_topics()
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics([NewTopic(topics.message_index, 2, 1)]).values():
        future.result()
    with pytest.raises(TopicError) as error:
        ensure_topics(settings_for(kafka_bootstrap, topics), [Role.CORRELATOR])
    message = str(error.value)
    assert topics.message_index in message and "cleanup.policy=delete" in message and "compact" in message
    assert "kafka-configs.sh" in message


def test_a_state_topic_that_breaks_co_partitioning_is_named(kafka_bootstrap: str) -> None:
    topics = fresh_topics()
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    wanted = [
        NewTopic(topics.send_requests, 4, 1),
        NewTopic(topics.dispatch_state, 2, 1, config={"cleanup.policy": "compact"}),
    ]
    for future in admin.create_topics(wanted).values():
        future.result()
    with pytest.raises(TopicError) as error:
        ensure_topics(settings_for(kafka_bootstrap, topics), [Role.DISPATCHER])
    message = str(error.value)
    assert f"{topics.dispatch_state} (internal: the dispatcher's intent log) has 2 partitions" in message
    assert f"--topic {topics.dispatch_state} --partitions 4" in message


def test_missing_state_topic_is_created_with_the_input_topics_partitions(kafka_bootstrap: str) -> None:
    topics = fresh_topics()
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics([NewTopic(topics.send_requests, 5, 1)]).values():
        future.result()
    report = ensure_topics(settings_for(kafka_bootstrap, topics, partitions=2), [Role.DISPATCHER])
    assert topics.dispatch_state in report.created and topics.send_requests not in report.created
    assert describe(kafka_bootstrap, topics.dispatch_state)[0] == 5
    assert describe(kafka_bootstrap, topics.submit_results)[0] == 2


def run_cli(*args: str, timeout: float = 60) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def write_config(tmp_path: Path, bootstrap: str, topics: Topics, **kafka: Any) -> str:
    config = {
        "roles": ["dispatcher"],
        "kafka": {"bootstrap_servers": bootstrap, "topics": topics.model_dump(), **kafka},
        "http": {"host": "127.0.0.1", "port": 0},
        "rest": {"base_url": "http://127.0.0.1:9"},
    }
    path = tmp_path / f"config-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_run_without_permission_to_create_exits_within_seconds_naming_the_topic(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics()
    config = write_config(tmp_path, kafka_bootstrap, topics, create_topics=False)
    code, output, took = run_cli("run", "--config", config)
    print(f"\ncreate_topics false on an empty cluster: exit {code} after {took:.1f}s")
    assert code != 0 and took < 30
    assert f"missing topics: {topics.send_requests}" in output and "kafka.create_topics is false" in output


def test_run_against_an_unreachable_cluster_says_so_and_exits(tmp_path: Path) -> None:
    topics = fresh_topics()
    config = write_config(tmp_path, f"127.0.0.1:{free_port()}", topics, startup_timeout=3)
    code, output, took = run_cli("run", "--config", config)
    assert code != 0 and took < 30
    assert "waiting for Kafka at 127.0.0.1" in output and "cannot reach Kafka" in output


def test_topics_check_and_create_for_administrators(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = fresh_topics()
    config = write_config(tmp_path, kafka_bootstrap, topics, create_topics=False)
    code, output, _ = run_cli("topics", "check", "--config", config)
    assert code == 1 and f"MISSING  {topics.dispatch_state}" in output
    code, output, _ = run_cli("topics", "create", "--config", config, "--roles", "webhook")
    assert code == 0, output
    assert f"ok       {topics.delivery_reports}" in output
    assert topics.send_requests not in output  # only the webhook's topics were asked for
    code, output, _ = run_cli("topics", "create", "--config", config, "--roles", "dispatcher")
    assert code == 0, output
    assert f"ok       {topics.dispatch_state}  partitions=6 cleanup.policy=compact,delete" in output
    code, output, _ = run_cli("topics", "check", "--config", config, "--roles", "dispatcher")
    assert code == 0 and "MISSING" not in output
