"""The compiled Avro writers against fastavro as the oracle: for records generated from every schema of
the contract, the bytes are identical (so fastavro, the reader, reads them as it reads its own)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.kafka.avro_writer import Unsupported, compile_writer, write_long
from connector.kafka.serde import SingleObjectSerde
from connector.schemas import SchemaName, parsed_schema

LONGS = st.integers(-(2**63), 2**63 - 1)
INTS = st.integers(-(2**31), 2**31 - 1)


def records_of(schema: Any, names: dict[str, Any]) -> st.SearchStrategy[Any]:
    if isinstance(schema, str) and schema in names:
        schema = names[schema]
    if isinstance(schema, list):
        return st.one_of(*(records_of(branch, names) for branch in schema))
    kind = schema if isinstance(schema, str) else schema["type"]
    if isinstance(schema, dict) and schema.get("name"):
        names[schema["name"]] = schema
    simple: dict[str, st.SearchStrategy[Any]] = {
        "null": st.none(),
        "string": st.text(max_size=80),
        "int": INTS,
        "long": LONGS,
        "boolean": st.booleans(),
        "double": st.floats(allow_nan=False),
    }
    if isinstance(schema, dict) and schema.get("logicalType") == "timestamp-millis":
        return st.integers(0, 4_102_444_800_000)  # epoch millis, 1970 to 2100
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(records_of(schema["items"], names), max_size=4)
    if kind == "map":
        return st.dictionaries(st.text(max_size=12), records_of(schema["values"], names), max_size=4)
    fields = {field["name"]: records_of(field["type"], names) for field in schema["fields"]}
    return st.fixed_dictionaries(fields)


@pytest.mark.parametrize("name", list(SchemaName))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_writer_writes_what_fastavro_writes(name: SchemaName, data: st.DataObject) -> None:
    schema = parsed_schema(name)
    record = data.draw(records_of(schema, {}))
    expected = io.BytesIO()
    fastavro.schemaless_writer(expected, schema, record)
    written = compile_writer(schema)(record)
    assert written == expected.getvalue()
    read_back = fastavro.schemaless_reader(io.BytesIO(written), schema, None)
    assert isinstance(read_back, dict) and read_back.keys() == record.keys()


def test_what_the_compiled_writer_does_not_take_goes_to_fastavro() -> None:
    schema = parsed_schema(SchemaName.MESSAGE_INDEX_ENTRY)
    record = {
        "provider_message_id": "m1",
        "request_id": "r1",
        "channel": "SMS",
        "part_number": 1,
        "total_parts": 1,
        "submitted_at": datetime(2026, 11, 30, tzinfo=UTC),  # fastavro takes a datetime here
        "metadata": {},
    }
    with pytest.raises(Unsupported):
        compile_writer(schema)(record)
    serde = SingleObjectSerde(SchemaName.MESSAGE_INDEX_ENTRY)
    assert serde.decode(serde.encode(record))["submitted_at"] == record["submitted_at"]


def test_longs_at_every_octet_boundary_are_written_as_fastavro_writes_them() -> None:
    edges = {sign * ((1 << bits) + delta) for bits in range(64) for delta in (-1, 0, 1) for sign in (1, -1)}
    for value in sorted(v for v in edges if -(2**63) <= v < 2**63):
        expected = io.BytesIO()
        fastavro.schemaless_writer(expected, "long", value)
        assert write_long(value) == expected.getvalue(), value
