"""Builders for the records the connector writes, as the dicts fastavro encodes."""

from __future__ import annotations

import enum
from typing import Any

from connector.requests import Route, SendRequest


class ResultStatus(enum.Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


def millis(seconds: float) -> int:
    return int(seconds * 1000)


def submit_result(
    request: SendRequest,
    status: ResultStatus,
    *,
    received_at: float,
    completed_at: float,
    route: Route | None = None,
    provider_code: str | None = None,
    description: str | None = None,
    message_ids: list[str] | None = None,
    attempts: int = 0,
    submitted_at: float | None = None,
) -> dict[str, Any]:
    ids = message_ids or []
    return {
        "request_id": request.request_id,
        "channel": request.channel.value,
        "route": route.value if route is not None else "NONE",
        "status": status.value,
        "provider_code": provider_code,
        "description": description,
        "provider_message_ids": ids,
        "parts": len(ids),
        "attempts": attempts,
        "received_at": millis(received_at),
        "submitted_at": millis(submitted_at) if submitted_at is not None else None,
        "completed_at": millis(completed_at),
        "metadata": request.metadata,
    }
