"""The Avro contract (schemas/*.avsc), loaded and parsed once."""

from __future__ import annotations

import enum
import json
from functools import cache
from pathlib import Path
from typing import Any

import fastavro


class SchemaName(enum.Enum):
    SEND_REQUEST = "send_request"
    SUBMIT_RESULT = "submit_result"
    DELIVERY_REPORT = "delivery_report"
    INBOUND_REPLY = "inbound_reply"
    MESSAGE_INDEX_ENTRY = "message_index_entry"


def schema_dir() -> Path:
    packaged = Path(__file__).parent / "_schemas"  # where the wheel puts them
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "schemas"


@cache
def schema_text(name: SchemaName) -> str:
    return (schema_dir() / f"{name.value}.avsc").read_text()


@cache
def parsed_schema(name: SchemaName) -> Any:
    return fastavro.parse_schema(json.loads(schema_text(name)))
