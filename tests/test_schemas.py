"""The schemas are the public API: every field documented, and backward and forward compatible with
the frozen first version in tests/schemas/v1."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.utils import generate_many

from connector.schemas import SchemaName, schema_dir

FROZEN = Path(__file__).parent / "schemas" / "v1"


def load(path: Path) -> Any:
    return fastavro.parse_schema(json.loads(path.read_text()))


def fields_without_doc(schema: Any, where: str = "") -> list[str]:
    missing = []
    if isinstance(schema, dict):
        for field in schema.get("fields", []):
            if not field.get("doc"):
                missing.append(f"{where}{schema['name']}.{field['name']}")
            missing += fields_without_doc(field["type"], f"{where}{schema['name']}.")
        if schema.get("type") in ("array", "map"):
            missing += fields_without_doc(schema.get("items") or schema.get("values"), where)
    elif isinstance(schema, list):
        for branch in schema:
            missing += fields_without_doc(branch, where)
    return missing


@pytest.mark.parametrize("name", list(SchemaName))
def test_every_field_has_a_doc(name: SchemaName) -> None:
    raw = json.loads((schema_dir() / f"{name.value}.avsc").read_text())
    assert raw["namespace"] == "global.vihat.connector"
    assert fields_without_doc(raw) == []


@pytest.mark.parametrize("name", list(SchemaName))
@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_compatible_with_frozen_v1(name: SchemaName, direction: str) -> None:
    current = load(schema_dir() / f"{name.value}.avsc")
    frozen = load(FROZEN / f"{name.value}.avsc")
    writer, reader = (frozen, current) if direction == "backward" else (current, frozen)
    for record in generate_many(writer, 50):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, writer, record)
        buffer.seek(0)
        fastavro.schemaless_reader(buffer, writer, reader)  # raises SchemaResolutionError if incompatible
