"""What makes a SendRequest sendable, checked before anything is sent; each failure names the field."""

from __future__ import annotations

import re
from typing import Any

from connector.errors import ValidationError

MAX_REQUEST_ID = 50  # the REST API's RequestId limit
_PHONE = re.compile(r"[1-9][0-9]{7,14}")  # E.164 without '+': country code first, 8 to 15 digits
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 .\-_&]{1,11}")  # GSM alphanumeric originator
_NUMERIC_SENDER = re.compile(r"[0-9]{1,15}")

_CHANNEL_FIELD = {"SMS": "sms", "VOICE_OTP": "voice_otp", "VOICE_FILE": "voice_file", "VIBER": "viber"}


def validate_common(request: dict[str, Any]) -> None:
    request_id = request["request_id"]
    if not request_id or not request_id.strip():
        raise ValidationError("request_id", "must not be empty")
    if len(request_id) > MAX_REQUEST_ID:
        raise ValidationError("request_id", f"is {len(request_id)} characters, at most {MAX_REQUEST_ID} allowed")
    phone = request["phone"]
    if not _PHONE.fullmatch(phone):
        raise ValidationError("phone", "must be 8 to 15 digits with the country code and no '+', e.g. 84968501615")
    channel = request["channel"]
    field = _CHANNEL_FIELD[channel]
    if request.get(field) is None:
        raise ValidationError(field, f"must be set for channel {channel}")


def validate_sender(sender: str | None) -> None:
    if sender is None:
        return
    if not (_NUMERIC_SENDER.fullmatch(sender) or _ALPHANUMERIC_SENDER.fullmatch(sender)):
        raise ValidationError(
            "sms.sender", "must be 1 to 11 letters, digits or ' .-_&', or a number of at most 15 digits"
        )


def validate_sms_content(content: str) -> None:
    if not content:
        raise ValidationError("sms.content", "must not be empty")
