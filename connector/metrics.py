"""Prometheus metrics (base units, `_total` counters, bounded labels: never a phone number, request id
or message id).

Most figures already exist as plain counters on the objects that own them (dispatcher, bind pool,
reports handler, webhook); at scrape time a collector asks the process for its `ProcessStats` (each
part's `stats()` value), so the hot path pays nothing for metrics except the latency histogram's
observe(), and this module knows none of those objects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connector.stats import ProcessStats

log = logging.getLogger(__name__)

VERSION = "0.1.0"
# SMS submit latency spans a loopback SMSC (ms) to a throttled provider (tens of seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.submit_latency = Histogram(
            "vihat_submit_latency_seconds",
            "From consuming a request to the provider's answer, accepted requests",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "vihat_consumer_lag",
            "Records behind the partition's end (librdkafka statistics)",
            ["topic", "partition"],
            registry=self.registry,
        )
        Info("vihat_build", "Connector build", registry=self.registry).info({"version": VERSION})

    def attach(self, stats: Callable[[], ProcessStats]) -> None:
        """Read `stats()` at every scrape."""
        self.registry.register(_StatsCollector(stats))

    def on_consumer_statistics(self, document: str) -> None:
        """librdkafka's stats_cb: consumer lag per assigned partition."""
        try:
            stats = json.loads(document)
        except ValueError:
            return
        for topic, topic_stats in stats.get("topics", {}).items():
            for partition, partition_stats in topic_stats.get("partitions", {}).items():
                lag = partition_stats.get("consumer_lag", -1)
                if partition != "-1" and lag >= 0:
                    self.consumer_lag.labels(topic, partition).set(lag)


def _counter(name: str, documentation: str, labels: list[str], values: Mapping[Any, float]) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for key, value in values.items():
        family.add_metric(list(key), value)
    return family


class _StatsCollector(Collector):
    def __init__(self, stats: Callable[[], ProcessStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        reports = stats.delivery
        yield _counter(
            "vihat_dlrs",
            "SMPP delivery receipts written to Kafka, by normalized status",
            ["status"],
            {(status,): count for status, count in reports.by_status.items()},
        )
        yield _counter(
            "vihat_dlrs_unparseable",
            "Receipts that could not be parsed (kept in the dead-letter topic)",
            [],
            {(): reports.unparseable},
        )
        yield _counter(
            "vihat_report_ack_failures",
            "Receipts Kafka did not acknowledge in time (the SMSC retries)",
            [],
            {(): reports.kafka_failures},
        )
        yield _counter(
            "vihat_kafka_delivery_failures",
            "Records the broker refused or timed out (produced again)",
            [],
            {(): stats.kafka_delivery_failures},
        )
        yield _counter(
            "vihat_kafka_requests",
            "Requests sent to the brokers, per client (librdkafka statistics, every 5 s)",
            ["client"],
            {(client,): count for client, count in stats.kafka_requests.items()},
        )
        correlation = {
            (outcome,): count for outcome, count in (stats.correlator.counts if stats.correlator else {}).items()
        }
        correlation[("local",)] = reports.correlated_here + (stats.webhook.correlated_here if stats.webhook else 0)
        yield _counter(
            "vihat_correlation",
            "Reports tied to their request by the process that received them (local), or by the correlator at "
            "once (hit), after waiting for the index (late), or published with request_id null (uncorrelated)",
            ["outcome"],
            correlation,
        )
        if stats.correlator is not None:
            yield _gauge(
                "vihat_correlator_held_reports", "Reports waiting for their index entry", stats.correlator.held
            )
        if stats.finals is not None:
            yield _counter(
                "vihat_request_finals", "Request-level final reports of multipart SMS", [], {(): stats.finals.emitted}
            )
        if stats.dispatcher is not None:
            yield from _dispatcher_metrics(stats)
        if stats.pool is not None:
            yield from _pool_metrics(stats)
        if stats.webhook is not None:
            webhook = stats.webhook
            yield _counter(
                "vihat_webhook_requests",
                "Callback requests by endpoint and HTTP status",
                ["endpoint", "code"],
                {(endpoint, str(code)): count for (endpoint, code), count in webhook.responses.items()},
            )
            yield _counter(
                "vihat_callbacks",
                "Status callbacks written to Kafka, by source and status",
                ["source", "status"],
                webhook.accepted,
            )
            yield _counter(
                "vihat_callbacks_duplicate", "Repeated callbacks absorbed", [], {(): webhook.duplicates_absorbed}
            )


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _dispatcher_metrics(stats: ProcessStats) -> Iterator[Metric]:
    dispatcher = stats.dispatcher
    assert dispatcher is not None
    yield _counter("vihat_records_consumed", "Send requests consumed", [], {(): dispatcher.consumed})
    yield _counter("vihat_results", "Submit results written", ["channel", "route", "status"], dispatcher.results)
    yield _counter(
        "vihat_provider_codes", "Provider answers by route and code", ["route", "code"], dispatcher.provider_codes
    )
    yield _counter(
        "vihat_dead_letter_records",
        "Undecodable records sent to the dead-letter topic",
        [],
        {(): dispatcher.dead_letters},
    )
    yield _counter(
        "vihat_requests_replayed",
        "Requests found finished in the intent log: result published again, nothing sent",
        [],
        {(): dispatcher.replayed},
    )
    yield _counter(
        "vihat_requests_skipped",
        "Requests re-read after a clean handover and found finished: nothing sent or published",
        [],
        {(): dispatcher.skipped},
    )
    yield _counter(
        "vihat_requests_released",
        "Requests given back unsent at a graceful stop or a rebalance, for the next owner to send",
        [],
        {(): dispatcher.released},
    )
    yield _counter(
        "vihat_requests_ambiguous",
        "Requests found SENDING without a result after a takeover",
        [],
        {(): dispatcher.ambiguous},
    )
    yield _gauge("vihat_requests_in_flight", "Requests consumed and not yet finished", dispatcher.in_flight)
    yield _gauge(
        "vihat_requests_capacity",
        "Requests held at most before partitions pause (dispatcher.buffer_seconds)",
        dispatcher.capacity,
    )


def _pool_metrics(stats: ProcessStats) -> Iterator[Metric]:
    pool = stats.pool
    assert pool is not None
    states = GaugeMetricFamily("vihat_binds", "SMPP binds by state", labels=["state"])
    for state, count in pool.binds_by_state.items():
        states.add_metric([state], count)
    yield states
    yield _gauge("vihat_window_in_use", "Outstanding submit_sm over all binds", pool.window_in_use)
    yield _counter("vihat_throttles", "ESME_RTHROTTLED / ESME_RMSGQFUL answers", [], {(): pool.throttles})
    yield _counter("vihat_reconnects", "SMPP sessions re-bound after they ended", [], {(): pool.reconnects})
    yield _counter(
        "vihat_token_bucket_wait_seconds",
        "Time submits waited for a token, per bind",
        ["bind"],
        {(name,): seconds for name, seconds in pool.token_wait_seconds.items()},
    )
