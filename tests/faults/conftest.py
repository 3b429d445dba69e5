"""Helpers for the fault tests: connectors as child processes, and a results tally."""

from __future__ import annotations

import signal
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.config import Topics
from connector.devstack.stack import ConnectorProcess, TopicReader
from connector.schemas import SchemaName
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID, SmscSimulator

SMPP_ENV = {"VIHAT_SMPP__SYSTEM_ID": DEMO_SYSTEM_ID, "VIHAT_SMPP__PASSWORD": DEMO_PASSWORD}


def process_settings(bootstrap: str, topics: Topics, smsc_port: int, group: str, **sections: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "roles": ["dispatcher", "correlator"],
        "log_level": "INFO",
        "kafka": {"bootstrap_servers": bootstrap, "topics": topics.model_dump(), "group_id": group},
        "smpp": {"port": smsc_port, "binds": 2, "rate_per_bind": 150, "reconnect_base": 0.1},
        "http": {"host": "127.0.0.1", "port": 0},
        "dispatcher": {"max_in_flight": 200, "ambiguous_grace": 3.0, "shutdown_timeout": 10.0},
    }
    for name, values in sections.items():
        settings[name] = {**settings.get(name, {}), **values}
    return settings


@dataclass
class Tally:
    """Results read so far: distinct requests, conflicting outcomes, and what the SMSC saw twice."""

    reader: TopicReader
    by_request: dict[str, set[tuple[str, str | None]]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def open(cls, bootstrap: str, topics: Topics) -> Tally:
        return cls(TopicReader(bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT))

    def read_until_distinct(self, count: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while len(self.by_request) < count and time.monotonic() < deadline:
            before = len(self.reader.records)
            self.reader.read_until(before + 1, timeout=0.5)
            for record in self.reader.records[before:]:
                self.by_request[record["request_id"]].add((record["status"], record["provider_code"]))
        return len(self.by_request)

    def first_consumed_after(self, wall_time: float, timeout: float) -> float | None:
        """Wall-clock time of the first result whose request was consumed after `wall_time` (by a process
        started then), or None if none came within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [r for r in self.reader.records if r["received_at"].timestamp() >= wall_time]
            if later:
                return float(min(r["completed_at"].timestamp() for r in later))
            self.read_until_distinct(len(self.by_request) + 1, timeout=0.5)
        return None

    @property
    def records(self) -> int:
        return len(self.reader.records)

    @property
    def conflicting(self) -> list[str]:
        return [request_id for request_id, outcomes in self.by_request.items() if len(outcomes) > 1]

    def outcomes(self) -> Counter[str]:
        return Counter(next(iter(outcomes))[1] or next(iter(outcomes))[0] for outcomes in self.by_request.values())

    def close(self) -> None:
        self.reader.close()


def duplicate_sends(simulator: SmscSimulator) -> int:
    texts = Counter(part.text for part in simulator.stats.messages)
    return sum(count - 1 for count in texts.values() if count > 1)


@dataclass
class KillFigures:
    finished_before: int  # distinct results read before the kill
    distinct: int  # distinct results at the end
    first_result: float  # seconds from the kill to the first result of a request the new process consumed
    all_results: float  # seconds from the kill until `count` distinct results


def kill_and_restart(
    settings: dict[str, Any], workdir: Path, tally: Tally, *, results_before_kill: int, count: int, timeout: float
) -> KillFigures:
    """Run a connector until `results_before_kill`, kill -9 it, start another with the same settings (the
    same group.instance.id: a container restarted in its pod) and wait for `count` distinct results."""
    first = ConnectorProcess(settings, workdir, SMPP_ENV).start()
    try:
        tally.read_until_distinct(results_before_kill, timeout=90)
        first.kill()  # SIGKILL: no drain, no commit, no unbind
        killed_at, killed_wall, before = time.monotonic(), time.time(), len(tally.by_request)
        second = ConnectorProcess(settings, workdir, SMPP_ENV).start()
        try:
            first_at = tally.first_consumed_after(killed_wall, timeout=120)
            distinct = tally.read_until_distinct(count, timeout=timeout)
            return KillFigures(before, distinct, (first_at or float("nan")) - killed_wall, time.monotonic() - killed_at)
        finally:
            second.signal(signal.SIGTERM)
            second.wait(60)
    finally:
        first.kill()
