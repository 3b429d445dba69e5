"""Callback bodies → records, pure functions (seed: "Callback status", chat apps "Callback status" and
"Two-way message"). Fields may come as strings or numbers; unknown extra fields are ignored; a missing
or mistyped required field raises CallbackError naming it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from connector.errors import ConnectorError
from connector.records import millis
from connector.reporting import MessageIdFormat, delivery_report, normalize_message_id, normalize_status

_ZONE = re.compile(r"([+-])\s*(\d{1,2})(?::?(\d{2}))?\s*$")
_TIME_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")


class CallbackError(ConnectorError, ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def _text(body: dict[str, Any], field: str, *, required: bool) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise CallbackError(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CallbackError(field, "must be a string or a number")
    try:
        return str(value)
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise CallbackError(field, "is a number too long to read") from exc


def parse_zone(value: str | None) -> timezone:
    """'GMT/UTC +7:00', 'GMT/UTC +7', '+0530' → a fixed offset; unknown text means UTC, and so does an
    offset no zone has (a day or more, or 60 minutes and more)."""
    match = _ZONE.search(value or "")
    if match is None:
        return UTC
    sign, hours, minutes = match.groups()
    if int(hours) > 23 or int(minutes or 0) > 59:
        return UTC
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return timezone(-offset if sign == "-" else offset)


def parse_provider_time(value: str | None, zone: timezone) -> datetime | None:
    """'12/3/2021 11:41:58 AM' (SMS callbacks) or '2021-12-15T13:55:03.953' (Viber), in `zone`.
    An unreadable time is dropped, not fatal: the report itself still matters."""
    if not value:
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for pattern in _TIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _event_millis(body: dict[str, Any], field: str) -> int | None:
    """The time as milliseconds, or None when there is none or it is not a time in years 1 to 9999 in UTC:
    a record holding one would be written, but no Avro reader could turn it back into a date."""
    moment = parse_provider_time(
        _text(body, field, required=False), parse_zone(_text(body, "time_zone", required=False))
    )
    if moment is None:
        return None
    try:
        return millis(moment.astimezone(UTC).timestamp())
    except (OverflowError, ValueError):
        return None


def provider_id(raw: str) -> str:
    return normalize_message_id(raw, MessageIdFormat.TEXT)


def phone_digits(raw: str | None) -> str | None:
    return raw.lstrip("+").strip() if raw else None


def _report(
    source: str,
    channel: str,
    id_field: str,
    phone_field: str,
    time_field: str,
    body: dict[str, Any],
    received_at: float,
    **extra: str | None,
) -> dict[str, Any]:
    """The DeliveryReport fields both callback kinds share, plus what only one carries (`extra`)."""
    raw_status = _text(body, "status", required=True) or ""
    return delivery_report(
        provider_message_id=provider_id(_text(body, id_field, required=True) or ""),
        channel=channel,
        source=source,
        status=normalize_status(raw_status),
        raw_status=raw_status,
        received_at=received_at,
        phone=phone_digits(_text(body, phone_field, required=False)),
        event_time=_event_millis(body, time_field),
        **extra,
    )


def sms_status_report(body: dict[str, Any], received_at: float) -> dict[str, Any]:
    return _report(
        "SMS_CALLBACK",
        "SMS",
        "reference_id",
        "phone",
        "delivery_time",
        body,
        received_at,
        error_code=_text(body, "err_code", required=False),
        price=_text(body, "total_price", required=False),
        currency=_text(body, "currency", required=False),
    )


def chat_status_report(body: dict[str, Any], received_at: float) -> dict[str, Any]:
    return _report("CHAT_CALLBACK", "VIBER", "message_id", "phone_number", "time", body, received_at)


def inbound_reply(body: dict[str, Any], received_at: float) -> dict[str, Any]:
    message = body.get("message")
    if not isinstance(message, dict):
        raise CallbackError("message", "is required and must be an object")
    phone = phone_digits(_text(body, "phone_number", required=True)) or ""
    channel = (_text(body, "channel", required=False) or "Viber").upper()
    return {
        "phone": phone,
        "channel": "VIBER" if channel == "VIBER" else None,
        "provider_message_id": provider_id(_text(body, "message_id", required=True) or ""),
        "text": _text(message, "text", required=False),
        "media_url": _text(message, "media", required=False),
        "file_name": _text(message, "file_name", required=False),
        "recipient": None,
        "event_time": _event_millis(body, "time"),
        "received_at": millis(received_at),
    }
