"""/metrics scraped during a pipeline run: the counters moved by exactly what was sent."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.config import Topics
from connector.devstack.stack import ConnectorThread, TopicReader, produce_requests, sms_request
from connector.schemas import SchemaName
from connector.simulator import SimulatorThread

pytestmark = pytest.mark.integration


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_counters_move_by_what_was_sent(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)
    connector = connector_factory(simulator.port, smpp={"rate_per_bind": 0, "binds": 2})
    port = connector.connector.http_server.port
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [
            *(sms_request(f"m{i}", "84968501615", f"hello {i}") for i in range(10)),
            sms_request("bad-1", "12", "bad phone"),
            sms_request("bad-2", "84968501615", ""),
            b"garbage",
        ],
    )
    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    results.read_until(12, timeout=30)
    reports = TopicReader(kafka_bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
    reports.read_until(10, timeout=30)
    results.close()
    reports.close()
    deadline = time.monotonic() + 10
    samples = scrape(port)
    while value(samples, "vihat_dead_letter_records_total") < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        samples = scrape(port)

    assert value(samples, "vihat_records_consumed_total") == 13
    assert value(samples, "vihat_results_total", channel="SMS", route="SMPP", status="ACCEPTED") == 10
    assert value(samples, "vihat_results_total", channel="SMS", route="NONE", status="REJECTED") == 2
    assert value(samples, "vihat_provider_codes_total", route="SMPP", code="ESME_ROK") == 10
    assert value(samples, "vihat_dead_letter_records_total") == 1
    assert value(samples, "vihat_submit_latency_seconds_count", route="SMPP") == 10
    assert sum(v for (name, _), v in samples.items() if name == "vihat_dlrs_total") == 10
    # The binds that sent them took the DLRs in and tied them to their requests: the correlator had no join to do.
    assert value(samples, "vihat_correlation_total", outcome="local") == 10
    assert value(samples, "vihat_correlation_total", outcome="hit") == 0
    assert value(samples, "vihat_binds", state="bound") == 2
    assert value(samples, "vihat_build_info", version="0.1.0") == 1
    assert all("84968501615" not in label for (_, labels) in samples for _, label in labels)
    assert httpx.get(f"http://127.0.0.1:{port}/readyz").json() == {"status": "ready"}
