"""Requests sent to the brokers, as read from librdkafka's statistics JSON (the source of
vihat_kafka_requests_total and of the benchmark's broker requests per SMS)."""

from __future__ import annotations

import json

from connector.kafka.producer import broker_requests


def test_broker_requests_come_from_the_clients_tx_total() -> None:
    statistics = {"name": "rdkafka#producer-1", "tx": 1234, "brokers": {"b1": {"tx": 1200}, "b2": {"tx": 34}}}
    assert broker_requests(json.dumps(statistics)) == 1234


def test_unreadable_statistics_count_nothing_rather_than_fail_the_callback() -> None:
    assert broker_requests("not json") == 0
    assert broker_requests(json.dumps({"name": "no tx yet"})) == 0
    assert broker_requests(json.dumps({"tx": None})) == 0
    assert broker_requests("[1, 2]") == 0
