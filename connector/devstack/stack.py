"""Helpers to run the connector beside a broker and the simulator: topics, producing requests,
reading outputs, and the connector on a background thread (demo, tests, benchmarks)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Consumer, Producer

from connector.app import Connector
from connector.config import Role, Settings, Topics
from connector.kafka.serde import SingleObjectSerde
from connector.kafka.topics import ensure_topics
from connector.schemas import SchemaName


def create_topics(bootstrap: str, topics: Topics, partitions: int = 4) -> None:
    """The topics every role needs, created as the connector itself creates them at start-up."""
    settings = Settings(kafka={"bootstrap_servers": bootstrap, "topics": topics.model_dump(), "partitions": partitions})
    ensure_topics(settings, list(Role), create=True)


def prefixed_topics(prefix: str) -> Topics:
    return Topics(**{key: f"{prefix}.{value}" for key, value in Topics().model_dump().items()})


def sms_request(
    request_id: str,
    phone: str,
    content: str,
    *,
    unicode: bool | None = None,
    sender: str | None = "VIHAT",
    expires_at_ms: int | None = None,
    metadata: dict[str, str] | None = None,
    route: str = "AUTO",
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "channel": "SMS",
        "phone": phone,
        "sms": {"content": content, "unicode": unicode, "sender": sender, "sms_type": None, "route": route},
        "voice_otp": None,
        "voice_file": None,
        "viber": None,
        "expires_at": expires_at_ms,
        "metadata": metadata or {},
    }


def channel_request(
    request_id: str, phone: str, channel: str, metadata: dict[str, str] | None = None, **content: Any
) -> dict[str, Any]:
    """A request for a REST channel: `voice_otp={...}`, `voice_file={...}` or `viber={...}`."""
    if channel == "VIBER":
        content["viber"] = {"sender": "VIHAT", "text": None, "image_url": None, "button": None, **content["viber"]}
    return {**sms_request(request_id, phone, "", metadata=metadata), "channel": channel, "sms": None, **content}


def produce_requests(bootstrap: str, topic: str, requests: Iterable[dict[str, Any] | bytes]) -> int:
    serde = SingleObjectSerde(SchemaName.SEND_REQUEST)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    count = 0
    for request in requests:
        if isinstance(request, bytes):
            producer.produce(topic, request, b"garbage")
        else:
            producer.produce(topic, serde.encode(request), request["request_id"].encode())
        count += 1
        if count % 10_000 == 0:
            producer.poll(0)
    remaining = producer.flush(30)
    if remaining:
        raise RuntimeError(f"{remaining} requests were not acknowledged by Kafka")
    return count


class TopicReader:
    """Reads a topic from the beginning, decoding values with the given schema."""

    def __init__(self, bootstrap: str, topic: str, schema: SchemaName | None) -> None:
        self._serde = SingleObjectSerde(schema) if schema is not None else None
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{topic}-{time.monotonic_ns()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": "false",
            }
        )
        self._consumer.subscribe([topic])
        self.records: list[dict[str, Any]] = []
        self.raw: list[Any] = []

    def read_until(self, count: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.raw) < count and time.monotonic() < deadline:
            for message in self._consumer.consume(1000, timeout=0.2):
                if message.error():
                    continue
                self.raw.append(message)
                if self._serde is not None:
                    self.records.append(self._serde.decode(message.value() or b""))
        return self.records

    def close(self) -> None:
        self._consumer.close()


class ConnectorThread:
    """The connector on its own event loop in a background thread; `stop()` is a graceful SIGTERM."""

    def __init__(self, settings: Settings) -> None:
        self.connector = Connector(settings)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="connector", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self.connector.run(install_signal_handlers=False))
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
            self.error = exc

    def start(self, wait_assigned: float = 30.0) -> ConnectorThread:
        self._thread.start()
        deadline = time.monotonic() + wait_assigned
        while not self.connector.started.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"connector did not start: {self.error!r}")
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 60.0) -> None:
        self.connector.stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("connector did not stop in time")
        if self.error is not None:
            raise RuntimeError("connector failed") from self.error


class ConnectorProcess:
    """`vihat-connector run` as a child process, for tests that kill it or send it SIGTERM."""

    def __init__(self, settings: dict[str, Any], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.config = workdir / f"connector-{time.monotonic_ns()}.yaml"
        self.config.write_text(yaml.safe_dump(settings))
        self._env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"connector-{time.monotonic_ns()}.log"

    def start(self) -> ConnectorProcess:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "connector.cli", "run", "--config", str(self.config)],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
