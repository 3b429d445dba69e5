"""What makes a SendRequest sendable, checked before anything is sent; each failure names the field."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

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


MAX_VIBER_TEXT = 1000  # seed: "Max text length (1000 UTF-8 characters)"
MAX_BUTTON_CAPTION = 30  # seed: "Max button caption length (30 UTF-8 characters)"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # seed: "Max file length is 5MB"
_OTP = re.compile(r"[0-9]{1,10}")


def validate_url(field: str, value: str) -> None:
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c.isspace() for c in value):
        raise ValidationError(field, "must be an absolute http(s) URL")


def viber_body_type(viber: dict[str, Any]) -> int:
    """Seed body types: 1 text+image+button, 2 text+button, 3 image only, 4 text only."""
    text, image, button = viber.get("text"), viber.get("image_url"), viber.get("button")
    if not viber["sender"].strip():
        raise ValidationError("viber.sender", "must not be empty")
    if text is not None and not text.strip():
        raise ValidationError("viber.text", "must not be blank when set")
    if text is not None and len(text) > MAX_VIBER_TEXT:
        raise ValidationError("viber.text", f"is {len(text)} characters, at most {MAX_VIBER_TEXT} allowed")
    if image is not None:
        validate_url("viber.image_url", image)
    if button is not None:
        caption = button["caption"]
        if not caption.strip() or len(caption) > MAX_BUTTON_CAPTION:
            raise ValidationError("viber.button.caption", f"must be 1 to {MAX_BUTTON_CAPTION} characters")
        validate_url("viber.button.action", button["action"])
    shape = (text is not None, image is not None, button is not None)
    body_types = {(True, True, True): 1, (True, False, True): 2, (False, True, False): 3, (True, False, False): 4}
    if shape not in body_types:
        raise ValidationError(
            "viber", "must be text, text+button, image, or text+image+button (the seed's body types 1-4)"
        )
    return body_types[shape]


def validate_voice_otp(otp: dict[str, Any], languages: list[str]) -> None:
    if not _OTP.fullmatch(otp["code"]):
        raise ValidationError("voice_otp.code", "must be 1 to 10 digits")
    if otp["lang"] not in languages:
        raise ValidationError("voice_otp.lang", f"must be one of {', '.join(languages)}")


def validate_voice_file(voice_file: dict[str, Any]) -> None:
    if not voice_file["template_id"].strip():
        raise ValidationError("voice_file.template_id", "must not be empty")


def validate_upload(file_name: str, size: int) -> None:
    if not file_name.lower().endswith(".mp3"):
        raise ValidationError("file", "must be an .mp3 recording")
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError("file", f"is {size} bytes, at most {MAX_UPLOAD_BYTES} (5 MB) allowed")
    if size == 0:
        raise ValidationError("file", "is empty")
