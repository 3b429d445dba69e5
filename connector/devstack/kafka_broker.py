"""A single-node Apache Kafka broker (KRaft) for the local stack and the tests.

The broker runs from the `org.apache.kafka:kafka_2.13` jars that Maven resolves into a cache folder
(DESIGN.md section 9, "Local Kafka recipe"); no Docker, no Kafka distribution tarball.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.25.3"
# Kafka depends on slf4j-api 1.7; without an explicit 2.x the log4j2 binding is silently ignored.
SLF4J_VERSION = "2.0.17"

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.vihat</groupId><artifactId>kafka-broker-libs</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{SLF4J_VERSION}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = console
"""


def default_cache_dir() -> Path:
    base = os.environ.get("VIHAT_CACHE_DIR") or os.path.join(Path.home(), ".cache", "vihat-connector")
    return Path(base) / f"kafka-{KAFKA_VERSION}"


def fetch_jars(cache_dir: Path | None = None) -> Path:
    """Resolve the broker jars into `cache_dir/libs` with Maven; a second call downloads nothing."""
    cache = cache_dir or default_cache_dir()
    libs = cache / "libs"
    marker = cache / "libs.complete"
    if marker.exists():
        return libs
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "pom.xml").write_text(_POM)
    print(f"fetching Apache Kafka {KAFKA_VERSION} jars with Maven into {libs} ...", file=sys.stderr)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(cache / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        check=True,
    )
    marker.write_text(KAFKA_VERSION)
    return libs


@dataclass
class LocalKafka:
    """A broker process on 127.0.0.1; `start()` returns once it answers metadata requests."""

    port: int = 9092
    controller_port: int = 0
    data_dir: Path | None = None
    cache_dir: Path | None = None
    heap: str = "512m"
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _owned_dir: bool = field(default=False, init=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        libs = fetch_jars(self.cache_dir)
        if self.controller_port == 0:
            self.controller_port = free_port()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="vihat-kafka-"))
            self._owned_dir = True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self._write_config()
        classpath = f"{libs}/*"
        java_log = [f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}"]
        if not (self.data_dir / "logs" / "meta.properties").exists():
            cluster_id = subprocess.run(
                ["java", "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            subprocess.run(
                [
                    "java",
                    *java_log,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(properties),
                    "--standalone",
                ],
                check=True,
                capture_output=True,
            )
        with open(self.data_dir / "broker.out", "ab") as out:  # the child keeps its own copy
            self._process = subprocess.Popen(
                ["java", f"-Xmx{self.heap}", "-Xms128m", *java_log, "-cp", classpath, "kafka.Kafka", str(properties)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        """Ask the broker for metadata until it answers: readiness by question, not by sleep."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"Kafka broker exited with {self._process.returncode}: {self.tail_log()}")
            try:
                metadata = admin.list_topics(timeout=2)
                if metadata.brokers:
                    return
            except Exception:  # noqa: BLE001 - any failure means "not ready yet"
                pass
            time.sleep(0.3)
        raise TimeoutError(f"Kafka broker not ready after {timeout:.0f}s: {self.tail_log()}")

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs (for benchmarks that read its CPU time)."""
        return self._process.pid if self._process is not None else None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM for a controlled shutdown; SIGKILL only if it does not exit in time."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def cleanup(self) -> None:
        self.stop()
        if self._owned_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def tail_log(self, lines: int = 20) -> str:
        if self.data_dir is None or not (self.data_dir / "broker.out").exists():
            return ""
        return "\n".join((self.data_dir / "broker.out").read_text(errors="replace").splitlines()[-lines:])

    def _write_config(self) -> Path:
        assert self.data_dir is not None
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2)
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            "num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # As on most production clusters: topics exist because someone (the connector) created them.
            "auto.create.topics.enable": "false",
            "log.retention.check.interval.ms": "5000",  # the state benchmark watches retention at work
        }
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return path


def existing_or_local_broker() -> tuple[str, LocalKafka | None]:
    """KAFKA_BOOTSTRAP_SERVERS when it is set, else a broker started here; the caller cleans it up."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        return bootstrap, None
    broker = LocalKafka(port=free_port())
    broker.start()
    return broker.bootstrap_servers, broker


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local single-node Kafka broker (KRaft) for development")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download the broker jars into the cache")
    run = sub.add_parser("run", help="start the broker and keep it running until SIGINT/SIGTERM")
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(fetch_jars())
        return 0
    broker = LocalKafka(port=args.port, data_dir=args.data_dir)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    broker.start()
    print(f"Kafka ready on {broker.bootstrap_servers}", flush=True)
    while not stop:
        time.sleep(0.5)
    broker.cleanup()
    print("Kafka stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
