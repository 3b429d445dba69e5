"""Bad input never stops the pipeline: random bytes, truncated Avro, foreign schema fingerprints and
schema-valid nonsense mixed with good requests; every record ends as a result or a dead letter."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.config import Topics
from connector.devstack.stack import ConnectorThread, TopicReader, produce_requests, sms_request
from connector.kafka.serde import SingleObjectSerde
from connector.schemas import SchemaName
from connector.simulator import SimulatorThread

pytestmark = pytest.mark.integration

SERDE = SingleObjectSerde(SchemaName.SEND_REQUEST)
_ids = itertools.count()


def good() -> st.SearchStrategy[dict[str, Any]]:
    return st.text(alphabet="abc xyz 0123456789", min_size=1, max_size=40).map(
        lambda text: sms_request(f"good-{next(_ids)}", "84968501615", text)
    )


def nonsense() -> st.SearchStrategy[dict[str, Any]]:
    """Valid for the schema, invalid for the connector."""

    def build(kind: int, text: str) -> dict[str, Any]:
        request = sms_request(f"bad-{next(_ids)}", "84968501615", text or "x")
        variants: list[dict[str, Any]] = [
            {"phone": text[:20] + "+"},
            {"sms": {**request["sms"], "content": "é" * 3000}},
            {"request_id": "r" * 60},
            {"channel": "VOICE_OTP", "sms": None},
            {"channel": "VIBER", "sms": None, "viber": {"sender": "", "text": None, "image_url": None, "button": None}},
            {"sms": {**request["sms"], "sender": text * 5 + "!"}},
        ]
        return {**request, **variants[kind % len(variants)]}

    return st.builds(build, st.integers(0, 5), st.text(max_size=30))


def broken() -> st.SearchStrategy[bytes]:
    encoded = SERDE.encode(sms_request("never-decoded", "84968501615", "hello there, this gets cut"))
    micro_expiry = SERDE.encode(
        {**sms_request("micro-expiry", "84968501615", "hi"), "expires_at": 1_796_032_260_000_000}
    )
    return st.one_of(
        st.binary(max_size=200),
        st.integers(11, len(encoded) - 1).map(lambda n: encoded[:n]),  # truncated body
        st.binary(min_size=8, max_size=8).map(lambda fp: b"\xc3\x01" + fp + encoded[10:]),  # foreign fingerprint
        st.just(b"\x00\x00\x00\x00\x01" + encoded[10:]),  # Confluent framing, unknown schema id
        st.just(micro_expiry),  # a timestamp in microseconds: past any date a reader can make
    )


records = st.lists(st.one_of(good(), nonsense(), broken()), min_size=20, max_size=60)


@pytest.fixture
def pipeline(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> Iterator[tuple[TopicReader, TopicReader]]:
    """One simulator and connector for all examples of a test; each example counts its own records."""
    simulator = simulator_factory(throttle_rate=0)
    connector_factory(simulator.port, smpp={"rate_per_bind": 0, "binds": 2})
    results = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    dead = TopicReader(kafka_bootstrap, topics.dead_letter, None)
    yield results, dead
    results.close()
    dead.close()


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=records)
def test_every_record_ends_as_a_result_or_a_dead_letter(
    kafka_bootstrap: str,
    topics: Topics,
    pipeline: tuple[TopicReader, TopicReader],
    batch: list[dict[str, Any] | bytes],
) -> None:
    results, dead = pipeline
    before_results, before_dead = len(results.raw), len(dead.raw)
    produce_requests(kafka_bootstrap, topics.send_requests, batch)
    decodable = [r for r in batch if isinstance(r, dict)]
    deadline = time.monotonic() + 60
    while (
        len(results.raw) - before_results < len(decodable) or len(dead.raw) - before_dead < len(batch) - len(decodable)
    ) and time.monotonic() < deadline:
        results.read_until(len(results.raw) + 1, timeout=0.3)
        dead.read_until(len(dead.raw) + 1, timeout=0.3)
    new_results = results.records[before_results:]
    assert len(new_results) == len(decodable)
    assert len(dead.raw) - before_dead == len(batch) - len(decodable)
    statuses = {r["request_id"]: r["status"] for r in new_results}
    assert all(statuses[r["request_id"]] == "ACCEPTED" for r in decodable if r["request_id"].startswith("good-"))
    assert all(statuses[r["request_id"]] == "REJECTED" for r in decodable if r["request_id"].startswith("bad-"))
