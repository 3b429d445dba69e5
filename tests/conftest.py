"""Shared fixtures: one real Kafka broker per test session, the SMSC simulator, the connector."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connector.config import Settings, Topics
from connector.devstack.kafka_broker import LocalKafka, free_port
from connector.devstack.stack import ConnectorThread, create_topics, prefixed_topics
from connector.simulator import RestSimulatorSettings, SimulatorSettings, SimulatorThread
from connector.simulator.accounts import DEMO_API_KEY, DEMO_SECRET_KEY
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS if set; testcontainers' Kafka if VIHAT_TEST_KAFKA=testcontainers and a Docker
    engine answers; otherwise the project's own broker from the Apache Kafka jars."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    if os.environ.get("VIHAT_TEST_KAFKA") == "testcontainers" and shutil.which("docker"):
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    broker = LocalKafka(port=free_port())
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.cleanup()


@pytest.fixture
def own_broker() -> Iterator[LocalKafka]:
    """A broker of the test's own, for tests that stop and restart it."""
    broker = LocalKafka(port=free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.cleanup()


@pytest.fixture
def topics(kafka_bootstrap: str) -> Topics:
    names = prefixed_topics(f"t{uuid.uuid4().hex[:10]}")
    create_topics(kafka_bootstrap, names, partitions=4)
    return names


@pytest.fixture
def simulator_factory() -> Iterator[Callable[..., SimulatorThread]]:
    started: list[SimulatorThread] = []

    def make(rest: RestSimulatorSettings | None = None, **overrides: Any) -> SimulatorThread:
        settings = SimulatorSettings(**{"dlr_delay": 0.1, **overrides})
        thread = SimulatorThread(settings, rest)
        thread.start()
        started.append(thread)
        return thread

    yield make
    for thread in started:
        thread.stop()


@pytest.fixture
def connector_factory(kafka_bootstrap: str, topics: Topics) -> Iterator[Callable[..., ConnectorThread]]:
    started: list[ConnectorThread] = []

    def make(
        smsc_port: int,
        smpp: dict[str, Any] | None = None,
        rest: dict[str, Any] | None = None,
        kafka_extra: dict[str, Any] | None = None,
        **sections: Any,
    ) -> ConnectorThread:
        settings = Settings(
            kafka={
                "bootstrap_servers": kafka_bootstrap,
                "topics": topics.model_dump(),
                "group_id": f"g-{uuid.uuid4().hex[:8]}",
                **(kafka_extra or {}),
            },
            smpp={
                "port": smsc_port,
                "system_id": DEMO_SYSTEM_ID,
                "password": DEMO_PASSWORD,
                "reconnect_base": 0.1,
                **(smpp or {}),
            },
            http={"host": "127.0.0.1", "port": 0},
            rest={"api_key": DEMO_API_KEY, "secret_key": DEMO_SECRET_KEY, "backoff_base": 0.05, **(rest or {})},
            **sections,
        )
        thread = ConnectorThread(settings).start()
        started.append(thread)
        return thread

    yield make
    for thread in started:
        if thread.running:
            thread.stop()
