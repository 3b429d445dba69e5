"""Record (de)serialization, one mode per topic (DESIGN.md section 3):

- `single-object`: Avro single-object encoding, `C3 01` + the schema's CRC-64-AVRO fingerprint
  (little-endian) + the binary body; no registry needed, any Avro library reads it.
- `confluent`: Confluent wire format through a Schema Registry (`mock://` works for tests), with the
  subject strategy pinned to `<topic>-value`.
"""

from __future__ import annotations

import enum
import io
import json
from typing import TYPE_CHECKING, Any, Protocol

import fastavro
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro.schema import fingerprint, to_parsing_canonical_form

from connector.errors import SerdeError
from connector.kafka.avro_writer import Unsupported, compile_writer
from connector.schemas import SchemaName, parsed_schema, schema_text

if TYPE_CHECKING:  # the registry client pulls in authlib; only confluent mode needs it
    from confluent_kafka.schema_registry import SchemaRegistryClient

SINGLE_OBJECT_MAGIC = b"\xc3\x01"

Record = dict[str, Any]


class Serialization(enum.Enum):
    SINGLE_OBJECT = "single-object"
    CONFLUENT = "confluent"


class Serde(Protocol):
    def encode(self, record: Record) -> bytes: ...

    def decode(self, data: bytes) -> Record: ...


def crc64_fingerprint(schema: Any) -> bytes:
    # fastavro prints the fingerprint as its little-endian bytes in hex, which is the wire order.
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


class SingleObjectSerde:
    def __init__(self, name: SchemaName) -> None:
        self._schema = parsed_schema(name)
        self._header = SINGLE_OBJECT_MAGIC + crc64_fingerprint(self._schema)
        self._write = compile_writer(self._schema)

    def encode(self, record: Record) -> bytes:
        try:
            return self._header + self._write(record)
        except (Unsupported, KeyError, TypeError, AttributeError, IndexError):
            pass  # a default to fill in, a datetime, or a value fastavro will explain: its way
        buffer = io.BytesIO()
        buffer.write(self._header)
        fastavro.schemaless_writer(buffer, self._schema, record)
        return buffer.getvalue()

    def decode(self, data: bytes) -> Record:
        if data[:2] != SINGLE_OBJECT_MAGIC:
            raise SerdeError("not Avro single-object encoding (missing C3 01 marker)")
        if data[2:10] != self._header[2:]:
            raise SerdeError(f"unknown schema fingerprint {data[2:10].hex()}")
        try:
            record = fastavro.schemaless_reader(io.BytesIO(data[10:]), self._schema, None)
        except Exception as exc:
            raise SerdeError(f"invalid Avro body: {exc!r}") from exc
        if not isinstance(record, dict):
            raise SerdeError("Avro body is not a record")
        return record

    def leading_optional_string(self, data: bytes) -> str | None:
        """The record's first field, when the schema starts with a ["null", "string"] union, read without
        decoding the rest: what a forwarder needs for the key of a record it passes on unchanged."""
        if data[:10] != self._header:
            self.decode(data)  # raises the precise SerdeError
        try:
            branch = data[10]
            if branch == 0:
                return None
            if branch != 2:
                raise SerdeError(f"first field: union branch {branch} is not null or string")
            length, position = _read_long(data, 11)
            if length < 0 or position + length > len(data):
                raise SerdeError("first field: string runs past the record")
            return data[position : position + length].decode()
        except (IndexError, UnicodeDecodeError) as exc:
            raise SerdeError(f"invalid Avro body: {exc!r}") from exc


def _read_long(data: bytes, position: int) -> tuple[int, int]:
    """An Avro long (zigzag varint) at `position`; returns it and the position after it."""
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), position
        shift += 7
        if shift > 63:
            raise SerdeError("invalid Avro long")


class ConfluentSerde:
    def __init__(self, name: SchemaName, topic: str, registry: SchemaRegistryClient) -> None:
        from confluent_kafka.schema_registry import topic_subject_name_strategy
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer

        text = json.dumps(json.loads(schema_text(name)))
        config = {"auto.register.schemas": True, "subject.name.strategy": topic_subject_name_strategy}
        self._serializer = AvroSerializer(registry, text, conf=config)
        self._deserializer = AvroDeserializer(registry, text)
        self._context = SerializationContext(topic, MessageField.VALUE)

    def encode(self, record: Record) -> bytes:
        data: bytes = self._serializer(record, self._context)
        return data

    def decode(self, data: bytes) -> Record:
        try:
            record: Record = self._deserializer(data, self._context)
        except Exception as exc:
            raise SerdeError(f"cannot decode Confluent-framed Avro: {exc!r}") from exc
        return record


def make_serde(
    name: SchemaName, topic: str, mode: Serialization, registry: SchemaRegistryClient | None = None
) -> Serde:
    if mode is Serialization.SINGLE_OBJECT:
        return SingleObjectSerde(name)
    if registry is None:
        raise SerdeError("confluent serialization needs a schema registry URL")
    return ConfluentSerde(name, topic, registry)
