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
import struct
from typing import TYPE_CHECKING, Any, Protocol

import fastavro
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro.schema import fingerprint, to_parsing_canonical_form

from connector.errors import SerdeError
from connector.kafka.avro_reader import Invalid, compile_reader, read_long
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
        self._read = compile_reader(self._schema)
        self._leading = _leading_plan(self._schema)

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
            return self._read(data, 10)
        except (Invalid, IndexError, ValueError, struct.error):  # UnicodeDecodeError is a ValueError
            pass  # doubtful bytes: fastavro reads them, or says precisely what is wrong
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
        (value,) = self.leading(data, 1).values()
        return str(value) if value is not None else None

    def leading(self, data: bytes, count: int) -> dict[str, Any]:
        """The record's first `count` fields, read without decoding the rest (enums as their symbols).
        For the leading fields that are strings, ints, longs, enums or unions of null with one of those:
        a reader that needs a few of them to know whether it wants the record at all."""
        if count > len(self._leading):
            raise ValueError(f"only the first {len(self._leading)} fields of {self._schema['name']} can be read ahead")
        if data[:10] != self._header:
            self.decode(data)  # raises the precise SerdeError
        values: dict[str, Any] = {}
        position = 10
        try:
            for name, null_branch, kind, symbols in self._leading[:count]:
                if null_branch is not None:
                    branch = data[position]  # a one-octet long is read here, longer ones by read_long
                    if branch < 0x80:
                        branch, position = (branch >> 1) ^ -(branch & 1), position + 1
                    else:
                        branch, position = read_long(data, position)
                    if branch not in (0, 1):
                        raise SerdeError(f"field {name}: union branch {branch} is not in the schema")
                    if branch == null_branch:
                        values[name] = None
                        continue
                if kind == "string":
                    length = data[position]
                    if length < 0x80:
                        length, position = (length >> 1) ^ -(length & 1), position + 1
                    else:
                        length, position = read_long(data, position)
                    if length < 0 or position + length > len(data):
                        raise SerdeError(f"field {name}: string runs past the record")
                    values[name] = data[position : position + length].decode()
                    position += length
                else:
                    number = data[position]
                    if number < 0x80:
                        number, position = (number >> 1) ^ -(number & 1), position + 1
                    else:
                        number, position = read_long(data, position)
                    if symbols is None:
                        values[name] = number
                    elif 0 <= number < len(symbols):
                        values[name] = symbols[number]
                    else:
                        raise SerdeError(f"field {name}: enum index {number} is not in the schema")
            return values
        except (IndexError, UnicodeDecodeError, Invalid) as exc:
            raise SerdeError(f"invalid Avro body: {exc!r}") from exc


def _leading_plan(schema: dict[str, Any]) -> list[tuple[str, int | None, str, tuple[str, ...] | None]]:
    """How to read each leading field of a record schema, up to the first one `leading` cannot read:
    (its name, the null branch of its union or None, string/long, the enum's symbols or None)."""
    plan: list[tuple[str, int | None, str, tuple[str, ...] | None]] = []
    for field in schema["fields"]:
        kind, null_branch = field["type"], None
        if isinstance(kind, list):
            if len(kind) != 2 or "null" not in kind:
                break
            null_branch = kind.index("null")
            kind = kind[1 - null_branch]
        if isinstance(kind, dict) and kind.get("type") == "enum":
            plan.append((field["name"], null_branch, "long", tuple(kind["symbols"])))
        elif isinstance(kind, dict) and kind.get("type") in ("int", "long") and "logicalType" not in kind:
            plan.append((field["name"], null_branch, "long", None))
        elif kind in ("int", "long", "string"):
            plan.append((field["name"], null_branch, "long" if kind != "string" else "string", None))
        else:
            break
    return plan


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
