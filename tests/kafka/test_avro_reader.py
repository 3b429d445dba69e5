"""The compiled Avro readers against fastavro as the oracle: records generated from every schema of the
contract read the same; damaged bytes are either read the same or refused, never read differently."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.errors import SerdeError
from connector.kafka.avro_reader import Invalid, compile_reader
from connector.kafka.serde import SingleObjectSerde
from connector.schemas import SchemaName, parsed_schema
from tests.kafka.test_avro_writer import records_of


def fastavro_bytes(schema: Any, record: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def fastavro_read(schema: Any, data: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(data), schema, None)


@pytest.mark.parametrize("name", list(SchemaName))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_reader_reads_what_fastavro_reads(name: SchemaName, data: st.DataObject) -> None:
    schema = parsed_schema(name)
    written = fastavro_bytes(schema, data.draw(records_of(schema, {})))
    assert compile_reader(schema)(b"\xc3\x01" + written, 2) == fastavro_read(schema, written)


@pytest.mark.parametrize("name", list(SchemaName))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_damaged_bytes_are_read_as_fastavro_reads_them_or_refused(name: SchemaName, data: st.DataObject) -> None:
    schema = parsed_schema(name)
    written = bytearray(fastavro_bytes(schema, data.draw(records_of(schema, {}))))
    for _ in range(data.draw(st.integers(1, 3))):
        if written and data.draw(st.booleans()):
            written[data.draw(st.integers(0, len(written) - 1))] = data.draw(st.integers(0, 255))
        else:
            del written[data.draw(st.integers(0, len(written))) :]  # truncated
    damaged = bytes(written)
    try:
        compiled = compile_reader(schema)(damaged, 0)
    except (Invalid, IndexError, ValueError):
        return  # refused: the serde hands these bytes to fastavro
    assert compiled == fastavro_read(schema, damaged)


def test_what_the_compiled_reader_refuses_fastavro_explains() -> None:
    serde = SingleObjectSerde(SchemaName.MESSAGE_INDEX_ENTRY)
    encoded = serde.encode(
        {
            "provider_message_id": "m1",
            "request_id": "r1",
            "channel": "SMS",
            "part_number": 1,
            "total_parts": 1,
            "submitted_at": 0,
            "metadata": {},
        }
    )
    with pytest.raises((Invalid, IndexError)):  # truncated
        compile_reader(parsed_schema(SchemaName.MESSAGE_INDEX_ENTRY))(encoded[:-4], 10)
    with pytest.raises(SerdeError, match="invalid Avro body"):
        serde.decode(encoded[:-4])


def test_octets_fastavro_reads_its_own_way_are_left_to_it() -> None:
    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "T",
            "fields": [{"name": "flag", "type": "boolean"}, {"name": "text", "type": "string"}],
        }
    )
    read = compile_reader(schema)
    assert read(b"\x01\x02a", 0) == {"flag": True, "text": "a"}
    assert fastavro_read(schema, b"\x02\x02a") == {"flag": True, "text": "a"}  # any octet but 0 is True to it
    for doubtful in (b"\x02\x02a", b"\x01\x03abc"):  # a boolean octet of 2; a negative string length
        with pytest.raises(Invalid):
            read(doubtful, 0)
