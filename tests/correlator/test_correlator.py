"""The correlator against the real broker: restore, hits, late entries, uncorrelated reports, and two
dispatcher replicas whose DLRs arrive on each other's binds."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Producer

from connector.config import Topics
from connector.devstack.stack import ConnectorThread, TopicReader, produce_requests, sms_request
from connector.kafka.serde import SingleObjectSerde
from connector.schemas import SchemaName
from connector.simulator import SimulatorThread

pytestmark = pytest.mark.integration

INDEX = SingleObjectSerde(SchemaName.MESSAGE_INDEX_ENTRY)
REPORT = SingleObjectSerde(SchemaName.DELIVERY_REPORT)


def index_entry(provider_id: str, request_id: str, part: int = 1, total: int = 1) -> bytes:
    return INDEX.encode(
        {
            "provider_message_id": provider_id,
            "request_id": request_id,
            "channel": "SMS",
            "part_number": part,
            "total_parts": total,
            "submitted_at": 0,
            "metadata": {"r": request_id},
        }
    )


def raw_report(provider_id: str, status: str = "DELIVERED") -> bytes:
    return REPORT.encode(
        {
            "request_id": None,
            "provider_message_id": provider_id,
            "channel": None,
            "source": "SMPP_DLR",
            "status": status,
            "raw_status": "DELIVRD",
            "error_code": "000",
            "price": None,
            "currency": None,
            "part_number": None,
            "total_parts": None,
            "phone": None,
            "event_time": None,
            "received_at": 0,
            "metadata": {},
        }
    )


def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value in records:
        producer.produce(topic, value, key)
    assert producer.flush(10) == 0


def test_restore_hits_late_entries_and_uncorrelated_reports(
    kafka_bootstrap: str, topics: Topics, connector_factory: Callable[..., ConnectorThread]
) -> None:
    # Entries written before the correlator starts must be restored from the compacted topic.
    produce(kafka_bootstrap, topics.message_index, [(f"p{i}", index_entry(f"p{i}", f"req-{i}")) for i in range(20)])
    connector = connector_factory(1, roles=["correlator"], correlator={"hold_seconds": 3.0})
    correlator = connector.connector.correlator
    assert correlator is not None
    produce(kafka_bootstrap, topics.reports_raw, [(f"p{i}", raw_report(f"p{i}")) for i in range(20)])
    produce(kafka_bootstrap, topics.reports_raw, [("early", raw_report("early")), ("never", raw_report("never"))])
    deadline = time.monotonic() + 10
    while correlator.held < 2 and time.monotonic() < deadline:  # both are waiting for their entries
        time.sleep(0.05)
    produce(kafka_bootstrap, topics.message_index, [("early", index_entry("early", "req-early"))])

    reader = TopicReader(kafka_bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
    records = reader.read_until(22, timeout=30)
    reader.close()
    by_id = {r["provider_message_id"]: r for r in records}
    assert len(records) == 22
    assert all(
        by_id[f"p{i}"]["request_id"] == f"req-{i}" and by_id[f"p{i}"]["metadata"] == {"r": f"req-{i}"}
        for i in range(20)
    )
    assert by_id["early"]["request_id"] == "req-early"
    assert by_id["never"]["request_id"] is None
    assert [m.key() for m in reader.raw if m.key() == b"req-early"] == [b"req-early"]
    assert correlator.counts == Counter({"hit": 20, "late": 1, "uncorrelated": 1})


def test_two_replicas_dlrs_on_each_others_binds_are_all_correlated(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0, dlr_delay=0.3)
    group: dict[str, Any] = {"group_id": "two-replicas"}
    first = connector_factory(simulator.port, smpp={"rate_per_bind": 0, "binds": 2}, kafka_extra=group)
    second = connector_factory(simulator.port, smpp={"rate_per_bind": 0, "binds": 2}, kafka_extra=group)
    count = 400
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"two-{i}", "84968501615", f"message {i}") for i in range(count)],
    )
    reader = TopicReader(kafka_bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
    records = reader.read_until(count, timeout=90)
    reader.close()
    correlated = Counter(r["request_id"] for r in records if r["request_id"])
    sent_by = [c.connector.dispatcher.consumed for c in (first, second) if c.connector.dispatcher]
    foreign = sum(c.connector.reports.foreign for c in (first, second))
    print(
        f"{count} requests, consumed {sent_by} by the two replicas, {foreign} DLRs arrived on the other "
        f"replica's binds, {len(correlated)} reports correlated"
    )
    assert min(sent_by) > 0  # both replicas sent
    assert foreign > 0  # the simulator really delivered DLRs across replicas
    assert len(records) == count and len(correlated) == count and max(correlated.values()) == 1


def test_request_status_is_delivered_only_if_every_part_was() -> None:
    from connector.correlator.finals import request_status

    assert request_status(["DELIVERED", "DELIVERED"]) == "DELIVERED"
    assert request_status(["DELIVERED", "UNDELIVERED", "EXPIRED"]) == "UNDELIVERED"


def test_multipart_requests_get_one_request_level_final(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    from connector.correlator.finals import request_status
    from connector.simulator.outcomes import OutcomePicker

    simulator = simulator_factory(throttle_rate=0, outcomes=OutcomePicker({"DELIVRD": 0.7, "UNDELIV": 0.3}, seed=3))
    connector_factory(simulator.port, smpp={"rate_per_bind": 0, "binds": 2})
    long_text = "A long message in three parts, all of which must report before the request does. " * 5
    produce_requests(
        kafka_bootstrap, topics.send_requests, [sms_request(f"mp-{i}", "84968501615", long_text) for i in range(20)]
    )
    reader = TopicReader(kafka_bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
    records = reader.read_until(20 * 3 + 20, timeout=60)
    reader.close()
    parts: dict[str, list[tuple[int, str]]] = {}
    finals: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record["part_number"] is None:
            finals.setdefault(record["request_id"], []).append(record)
        else:
            parts.setdefault(record["request_id"], []).append((record["part_number"], record["status"]))
    assert len(parts) == 20 and all(len(p) == 3 for p in parts.values())
    assert len(finals) == 20 and all(len(f) == 1 for f in finals.values())
    for request_id, [final] in finals.items():
        assert final["status"] == request_status([status for _, status in sorted(parts[request_id])])
    assert {f[0]["status"] for f in finals.values()} == {"DELIVERED", "UNDELIVERED"}
