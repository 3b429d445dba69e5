"""End to end through the real broker and the simulator's real SMPP sockets."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from connector.config import Topics
from connector.devstack.stack import ConnectorThread, TopicReader, produce_requests, sms_request
from connector.schemas import SchemaName
from connector.simulator import SimulatorThread

pytestmark = pytest.mark.integration

LONG_GSM = "Parcel 123 is on its way; track it at example.com/t/123 [reply STOP to end] " * 4  # 3 parts
VIETNAMESE = "Mã xác thực của bạn là 123456. Không chia sẻ mã này."
LONG_UCS2 = "Cảm ơn quý khách đã sử dụng dịch vụ của chúng tôi 😀. " * 3  # 3 parts


def by_request_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    counts = Counter(r["request_id"] for r in records)
    duplicates = [request_id for request_id, count in counts.items() if count > 1]
    assert not duplicates, f"more than one result for {duplicates[:5]}"
    return {r["request_id"]: r for r in records}


def committed_equals_end(bootstrap: str, group: str, topic: str) -> bool:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        partitions = [TopicPartition(topic, p) for p in range(4)]
        committed = consumer.committed(partitions, timeout=10)
        for tp in committed:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            if high > 0 and tp.offset != high:
                return False
        return True
    finally:
        consumer.close()


def records_in(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            high - low
            for low, high in (consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions)
        )
    finally:
        consumer.close()


def test_mixed_batch_gets_one_result_each_and_every_dlr(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)
    connector = connector_factory(
        simulator.port,
        smpp={"rate_per_bind": 0, "binds": 2},
        rest={"base_url": "http://127.0.0.1:9", "max_attempts": 2},
    )
    now_ms = int(time.time() * 1000)
    requests: list[dict[str, Any] | bytes] = [
        sms_request("short", "84968501615", "Your code is 123456 {ok}", metadata={"tenant": "a"}),
        sms_request("long-gsm", "84968501616", LONG_GSM),
        sms_request("vietnamese", "84968501617", VIETNAMESE),
        sms_request("long-ucs2", "84968501618", LONG_UCS2),
        sms_request("bad-phone", "+8496850", "hi"),
        sms_request("empty", "84968501615", ""),
        sms_request("bad-sender", "84968501615", "hi", sender="Much too long sender"),
        sms_request("too-long", "84968501615", "x" * 153 * 11),
        sms_request("expired", "84968501615", "late", expires_at_ms=now_ms - 1000),
        sms_request("refused", "99912345678", "the simulator refuses 999 numbers"),
        sms_request("rest-down", "84968501615", "no REST API runs in this test", route="REST"),
        b"\x00not avro at all",
    ]
    produce_requests(kafka_bootstrap, topics.send_requests, requests)

    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    dead = TopicReader(kafka_bootstrap, topics.dead_letter, None)
    reports = TopicReader(kafka_bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
    index = TopicReader(kafka_bootstrap, topics.message_index, SchemaName.MESSAGE_INDEX_ENTRY)
    got = by_request_id(results.read_until(11, timeout=60))
    dead.read_until(1, timeout=30)

    assert {k: v["status"] for k, v in got.items()} == {
        "short": "ACCEPTED",
        "long-gsm": "ACCEPTED",
        "vietnamese": "ACCEPTED",
        "long-ucs2": "ACCEPTED",
        "bad-phone": "REJECTED",
        "empty": "REJECTED",
        "bad-sender": "REJECTED",
        "too-long": "REJECTED",
        "expired": "EXPIRED",
        "refused": "REJECTED",
        "rest-down": "FAILED",
    }
    assert "phone" in got["bad-phone"]["description"]
    assert "sms.content" in got["empty"]["description"]
    assert "sms.sender" in got["bad-sender"]["description"]
    assert "max_sms_parts" in got["too-long"]["description"]
    assert got["refused"]["provider_code"] == "ESME_RINVDSTADR"
    assert got["short"]["metadata"] == {"tenant": "a"}
    assert [got[k]["parts"] for k in ("short", "long-gsm", "vietnamese", "long-ucs2")] == [1, 3, 1, 3]
    for name in ("bad-phone", "empty", "expired"):
        assert got[name]["provider_message_ids"] == [] and got[name]["route"] == "NONE"
    assert got["rest-down"]["route"] == "REST" and "ConnectError" in got["rest-down"]["description"]

    # What the SMSC received matches the results: every part, its coding, its UDH.
    messages = simulator.simulator.stats.messages
    sent_ids = {m.message_id for m in messages}
    accepted_ids = {i for r in got.values() for i in r["provider_message_ids"]}
    assert sent_ids == accepted_ids and len(messages) == 8
    by_id = {m.message_id: m for m in messages}
    long_parts = [by_id[i] for i in got["long-ucs2"]["provider_message_ids"]]
    assert [p.number for p in long_parts] == [1, 2, 3] and len({p.reference for p in long_parts}) == 1
    assert "".join(p.text for p in long_parts) == LONG_UCS2
    assert {p.data_coding for p in long_parts} == {8}
    assert by_id[got["short"]["provider_message_ids"][0]].data_coding == 0

    # The undecodable record is in the dead-letter topic with Connect-style headers.
    [dead_record] = dead.raw
    headers = dict(dead_record.headers())
    assert dead_record.value() == b"\x00not avro at all"
    assert headers["__connect.errors.topic"] == topics.send_requests.encode()
    assert b"single-object" in headers["__connect.errors.exception.message"]

    # Every part has an index entry and a correlated delivery report.
    assert {e["provider_message_id"] for e in index.read_until(8, timeout=30)} == accepted_ids
    everything = reports.read_until(8 + 2, timeout=30)  # 8 parts, and one final each for the 2 long ones
    dlrs = [r for r in everything if r["part_number"] is not None]
    assert {r["provider_message_id"] for r in dlrs} == accepted_ids and len(dlrs) == 8
    assert all(r["request_id"] and r["source"] == "SMPP_DLR" for r in dlrs)
    assert [r["metadata"] for r in dlrs if r["request_id"] == "short"] == [{"tenant": "a"}]
    finals = {r["request_id"]: r for r in everything if r["part_number"] is None}
    assert set(finals) == {"long-gsm", "long-ucs2"} and all(r["total_parts"] == 3 for r in finals.values())
    # The binds that sent them took the DLRs in: correlated at once, written once, nothing for the join.
    assert records_in(kafka_bootstrap, topics.reports_raw) == 0

    group = connector.connector.settings.kafka.group_id
    connector.stop()
    assert committed_equals_end(kafka_bootstrap, group, topics.send_requests)
    for reader in (results, dead, reports, index):
        reader.close()


def test_per_bind_rate_never_exceeded_and_no_throttles(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    rate, binds, count = 30, 2, 150
    simulator = simulator_factory(throttle_rate=rate, throttle_burst=3)
    connector = connector_factory(simulator.port, smpp={"rate_per_bind": rate, "binds": binds})
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"r{i}", "84968501615", f"message {i}") for i in range(count)],
    )
    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    got = by_request_id(results.read_until(count, timeout=60))
    results.close()
    assert Counter(r["status"] for r in got.values()) == {"ACCEPTED": count}
    stats = simulator.simulator.stats
    assert stats.throttled == 0
    assert sum(len(b.submit_times) for b in stats.binds) == count
    # The guarantee is about what the connector sends, so it is measured where tokens are granted; the
    # simulator's receive times add the scheduling jitter of the test process on top.
    for slot in connector.connector.pool.slots:
        grants = list(slot.bucket.recent_grants)
        busiest = max(sum(1 for t in grants[i:] if t < start + 1.0) for i, start in enumerate(grants))
        used = len(grants) / (grants[-1] - grants[0]) if len(grants) > 1 else 0.0
        print(
            f"{slot.name}: {len(grants)} submit_sm, busiest one-second window {busiest} (limit {rate}), "
            f"{used:.1f}/s used"
        )
        assert busiest <= rate


def test_throttle_storm_is_retried_not_failed(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=10, throttle_burst=1)
    connector_factory(simulator.port, smpp={"rate_per_bind": 100, "binds": 1, "throttle_pause": 0.2})
    produce_requests(
        kafka_bootstrap, topics.send_requests, [sms_request(f"t{i}", "84968501615", f"message {i}") for i in range(40)]
    )
    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    got = by_request_id(results.read_until(40, timeout=60))
    results.close()
    assert simulator.simulator.stats.throttled > 0
    assert Counter(r["status"] for r in got.values()) == {"ACCEPTED": 40}
    assert max(r["attempts"] for r in got.values()) > 1


def test_binds_dropped_by_the_smsc_reconnect_and_nothing_is_lost(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    count = 300
    simulator = simulator_factory(throttle_rate=0)
    connector = connector_factory(simulator.port, smpp={"rate_per_bind": 100, "binds": 2})
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"k{i}", "84968501615", f"message {i}") for i in range(count)],
    )
    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    results.read_until(40, timeout=30)
    dropped = simulator.call(simulator.simulator.drop_all_binds)
    assert dropped == 2
    got = by_request_id(results.read_until(count, timeout=60))
    results.close()
    assert Counter(r["status"] for r in got.values()) == {"ACCEPTED": count}
    assert sum(slot.reconnects for slot in connector.connector.pool.slots) >= 2
    assert simulator.simulator.stats.binds_accepted >= 4


def test_a_request_id_sent_again_while_the_first_is_in_flight_is_sent_once_and_answered_alike(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    # One slow bind: the copies arrive while the first is still waiting for its window slot or on the wire.
    simulator = simulator_factory(throttle_rate=0)
    connector_factory(simulator.port, smpp={"rate_per_bind": 20, "binds": 1, "window": 2})
    first = sms_request("again-1", "84968501615", "sent once, however often it is asked")
    others = [sms_request(f"other-{i}", "84968501615", f"message {i}") for i in range(10)]
    produce_requests(kafka_bootstrap, topics.send_requests, [first, *others[:5], first, *others[5:], first])
    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    got = results.read_until(13, timeout=60)
    results.close()
    answers = [r for r in got if r["request_id"] == "again-1"]
    assert len(answers) == 3  # one result per record read
    assert {(r["status"], r["provider_code"], tuple(r["provider_message_ids"])) for r in answers} == {
        (answers[0]["status"], answers[0]["provider_code"], tuple(answers[0]["provider_message_ids"]))
    }, answers
    assert answers[0]["status"] == "ACCEPTED"
    texts = [part.text for part in simulator.simulator.stats.messages]
    assert texts.count(first["sms"]["content"]) == 1


def test_copies_waiting_for_a_request_given_back_at_a_stop_are_sent_once_by_the_next_process(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)
    slow = {"rate_per_bind": 5, "binds": 1, "window": 1}
    group = {"group_id": f"g-{uuid.uuid4().hex[:8]}"}
    first = connector_factory(simulator.port, smpp=slow, kafka_extra=group)
    ahead = [sms_request(f"ahead-{i}", "84968501615", f"ahead {i}") for i in range(15)]
    copied = sms_request("copied-1", "84968501615", "given back, then sent once")
    produce_requests(kafka_bootstrap, topics.send_requests, [*ahead, copied, copied, copied])
    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    got = results.read_until(3, timeout=30)
    first.stop()  # "copied-1" still waits behind "ahead-*": given back with its copies
    connector_factory(simulator.port, smpp=slow, kafka_extra=group)
    got = results.read_until(18, timeout=60)  # one result per record: 15 ahead, the request and 2 copies
    results.close()
    assert {r["request_id"] for r in got} == {r["request_id"] for r in [*ahead, copied]}
    answers = {(r["status"], tuple(r["provider_message_ids"])) for r in got if r["request_id"] == "copied-1"}
    assert len(answers) == 1 and next(iter(answers))[0] == "ACCEPTED", answers
    texts = [part.text for part in simulator.simulator.stats.messages]
    assert texts.count(copied["sms"]["content"]) == 1
