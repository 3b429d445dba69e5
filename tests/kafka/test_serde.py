from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from hypothesis import given
from hypothesis import strategies as st

from connector.devstack.stack import sms_request
from connector.errors import SerdeError
from connector.kafka.serde import SINGLE_OBJECT_MAGIC, Serialization, SingleObjectSerde, crc64_fingerprint, make_serde
from connector.reporting import ReportStatus, delivery_report
from connector.schemas import SchemaName


def test_crc64_avro_fingerprint_matches_the_avro_spec_vector() -> None:
    # Avro's schema-tests: the canonical schema "null" has CRC-64-AVRO fingerprint 7195948357588979594.
    assert int.from_bytes(crc64_fingerprint("null"), "little") == 7195948357588979594


def test_single_object_round_trip_and_header() -> None:
    serde = SingleObjectSerde(SchemaName.SEND_REQUEST)
    request = sms_request("r1", "84968501615", "hi", metadata={"k": "v"})
    data = serde.encode(request)
    assert data[:2] == SINGLE_OBJECT_MAGIC
    assert serde.decode(data)["sms"]["content"] == "hi"


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x00\x01", b"\xc3\x01" + b"\x00" * 8 + b"x", b"\xc3\x01"])
def test_single_object_rejects_foreign_bytes(data: bytes) -> None:
    with pytest.raises(SerdeError):
        SingleObjectSerde(SchemaName.SEND_REQUEST).decode(data)


def test_truncated_body_is_a_serde_error() -> None:
    serde = SingleObjectSerde(SchemaName.SEND_REQUEST)
    data = serde.encode(sms_request("r1", "84968501615", "hello there"))
    with pytest.raises(SerdeError):
        serde.decode(data[:-5])


def test_confluent_mode_with_mock_registry() -> None:
    registry = SchemaRegistryClient.new_client({"url": "mock://serde-test"})
    serde = make_serde(SchemaName.SEND_REQUEST, "vihat.send-requests", Serialization.CONFLUENT, registry)
    data = serde.encode(sms_request("r1", "84968501615", "hi"))
    assert data[0] == 0  # Confluent magic byte, then a 4-byte schema id
    assert serde.decode(data)["request_id"] == "r1"
    assert registry.get_subjects() == ["vihat.send-requests-value"]
    with pytest.raises(SerdeError):
        serde.decode(b"\x00\x00\x00\x00\x63garbage")


@given(
    st.one_of(st.none(), st.text(max_size=300)),
    st.text(min_size=1, max_size=40),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
)
def test_the_leading_request_id_reads_as_the_full_decode_does(
    request_id: str | None, provider_id: str, metadata: dict[str, str]
) -> None:
    serde = SingleObjectSerde(SchemaName.DELIVERY_REPORT)
    report = _report(provider_id)
    encoded = serde.encode({**report, "request_id": request_id, "metadata": metadata})
    assert serde.leading_optional_string(encoded) == serde.decode(encoded)["request_id"] == request_id


def test_the_leading_request_id_refuses_what_decode_refuses() -> None:
    serde = SingleObjectSerde(SchemaName.DELIVERY_REPORT)
    with pytest.raises(SerdeError):
        serde.leading_optional_string(b"\xc3\x01" + b"\x00" * 8 + b"\x02\x08ab")  # unknown fingerprint
    with pytest.raises(SerdeError):
        serde.leading_optional_string(b"garbage")
    header = serde.encode(serde.decode(serde.encode(_report())))[:10]
    with pytest.raises(SerdeError):
        serde.leading_optional_string(header + b"\x04")  # a union branch the schema does not have
    with pytest.raises(SerdeError):
        serde.leading_optional_string(header + b"\x02\x40ab")  # a string longer than the record


def _report(provider_id: str = "m1") -> dict[str, Any]:
    return delivery_report(
        provider_message_id=provider_id,
        channel="SMS",
        source="SMPP_DLR",
        status=ReportStatus.DELIVERED,
        raw_status="DELIVRD",
        received_at=1_700_000_000.0,
    )


@given(
    # lengths past 63 octets too: their Avro length takes two octets
    st.one_of(st.none(), st.integers(0, 100).flatmap(lambda size: st.text(min_size=size, max_size=size))),
    st.sampled_from(list(ReportStatus)),
    st.one_of(st.none(), st.integers(min_value=-300, max_value=300)),  # an int as Avro allows, not only valid parts
    st.one_of(st.none(), st.integers(min_value=1, max_value=255)),
    st.one_of(st.none(), st.text(max_size=8)),
)
def test_the_leading_fields_read_as_the_full_decode_does(
    request_id: str | None, status: ReportStatus, part: int | None, total: int | None, price: str | None
) -> None:
    serde = SingleObjectSerde(SchemaName.DELIVERY_REPORT)
    report = {**_report(), "request_id": request_id, "status": status.value, "part_number": part}
    encoded = serde.encode({**report, "total_parts": total, "price": price})
    decoded = serde.decode(encoded)
    head = serde.leading(encoded, 11)
    assert list(head) == list(decoded)[:11]
    assert head == {name: decoded[name] for name in head}


def test_leading_fields_stop_where_the_schema_needs_a_decoder() -> None:
    serde = SingleObjectSerde(SchemaName.DELIVERY_REPORT)
    with pytest.raises(ValueError, match="only the first 12 fields"):
        serde.leading(serde.encode(_report()), 13)  # event_time is a timestamp-millis: fastavro's to read
    header = serde.encode(_report())[:10]
    with pytest.raises(SerdeError):
        serde.leading(header + b"\x00\x02a\x02\x10", 4)  # request_id null, "a", channel: enum index 8 of 4


def test_a_timestamp_past_year_9999_is_a_serde_error() -> None:
    """A caller that writes `expires_at` in microseconds (year 58,000 and more) writes a valid Avro long
    that no Avro library turns into a date: a SerdeError (so a dead letter), never an OverflowError that
    would stop the consumer on the same record after every restart."""
    serde = SingleObjectSerde(SchemaName.SEND_REQUEST)
    microseconds = 1_796_032_260_000_000
    encoded = serde.encode({**sms_request("micro-expiry", "84968501615", "hi"), "expires_at": microseconds})
    with pytest.raises(SerdeError, match="invalid Avro body"):
        serde.decode(encoded)
