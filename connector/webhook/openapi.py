"""OpenAPI 3.1 description of the webhook endpoints, built from the configured paths."""

from __future__ import annotations

from typing import Any

from connector.config import WebhookSettings

_TEXT_OR_NUMBER = {"oneOf": [{"type": "string"}, {"type": "number"}]}


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": True}


SMS_STATUS = _object(
    ["reference_id", "status"],
    {
        "phone": _TEXT_OR_NUMBER,
        "reference_id": _TEXT_OR_NUMBER,
        "status": {"type": "string"},
        "err_code": _TEXT_OR_NUMBER,
        "delivery_time": {"type": "string", "example": "12/3/2021 11:41:58 AM"},
        "total_price": _TEXT_OR_NUMBER,
        "currency": {"type": "string"},
        "time_zone": {"type": "string"},
    },
)
CHAT_STATUS = _object(
    ["message_id", "status"],
    {
        "status": {"type": "string", "enum": ["DELIVERED", "SEEN", "EXPIRED"]},
        "message_id": _TEXT_OR_NUMBER,
        "time": {"type": "string", "example": "2021-12-15T13:55:03.953"},
        "phone_number": _TEXT_OR_NUMBER,
        "channel": {"type": "string"},
        "time_zone": {"type": "string"},
    },
)
REPLY = _object(
    ["message", "message_id", "phone_number"],
    {
        "message": _object(
            [],
            {
                "text": {"type": ["string", "null"]},
                "media": {"type": ["string", "null"]},
                "file_name": {"type": ["string", "null"]},
            },
        ),
        "message_id": _TEXT_OR_NUMBER,
        "time": {"type": "string"},
        "phone_number": _TEXT_OR_NUMBER,
        "channel": {"type": "string"},
        "time_zone": {"type": "string"},
    },
)
_ERROR = {
    "description": "rejected",
    "content": {
        "application/json": {"schema": _object(["error"], {"error": {"type": "string"}, "field": {"type": "string"}})}
    },
}


def _operation(summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [{"tokenHeader": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        },
        "responses": {
            "200": {"description": "acknowledged by Kafka"},
            "400": _ERROR,
            "401": _ERROR,
            "403": _ERROR,
            "413": _ERROR,
            "503": {**_ERROR, "description": "Kafka unavailable; retry after the Retry-After header"},
        },
    }


def openapi_document(settings: WebhookSettings) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "vihat-kafka-connector webhooks", "version": "1"},
        "paths": {
            settings.sms_status_path: {"post": _operation("SMS status callback", SMS_STATUS)},
            settings.chat_status_path: {"post": _operation("Chat-app (Viber) status callback", CHAT_STATUS)},
            settings.reply_path: {"post": _operation("Two-way message (user reply)", REPLY)},
            "/healthz": {"get": {"summary": "process alive", "responses": {"200": {"description": "alive"}}}},
            "/readyz": {
                "get": {
                    "summary": "Kafka connected and a route to the provider",
                    "responses": {
                        "200": {"description": "ready"},
                        "503": {"description": "not ready, with the problems"},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"tokenHeader": {"type": "apiKey", "in": "header", "name": settings.token_header}}
        },
    }
