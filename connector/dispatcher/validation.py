"""What makes a SendRequest sendable: one `validate(request, settings)`, run before anything about the
request is written or sent; each failure is a ValidationError that names the field.

It checks everything that does not depend on the route taken. The one route-dependent limit, the
number of SMPP parts (`dispatcher.max_sms_parts`), is checked where the text is encoded for SMPP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from connector.config import Settings
from connector.errors import ValidationError
from connector.gsm7 import first_outside_gsm
from connector.requests import Channel, Route, SendRequest, SmsMessage, ViberMessage, VoiceFile, VoiceOtp
from connector.rest.payloads import viber_body_type

MAX_REQUEST_ID = 50  # the REST API's RequestId limit
MAX_VIBER_TEXT = 1000  # seed: "Max text length (1000 UTF-8 characters)"
MAX_BUTTON_CAPTION = 30  # seed: "Max button caption length (30 UTF-8 characters)"

_PHONE = re.compile(r"[1-9][0-9]{7,14}")  # E.164 without '+': country code first, 8 to 15 digits
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 .\-_&]{1,11}")  # GSM alphanumeric originator
_NUMERIC_SENDER = re.compile(r"[0-9]{1,15}")
_OTP = re.compile(r"[0-9]{1,10}")


def validate(request: SendRequest, settings: Settings) -> None:
    validate_common(request)
    _CHANNEL_RULES[request.channel](request, settings)


def validate_common(request: SendRequest) -> None:
    request_id = request.request_id
    if not request_id or not request_id.strip():
        raise ValidationError("request_id", "must not be empty")
    if len(request_id) > MAX_REQUEST_ID:
        raise ValidationError("request_id", f"is {len(request_id)} characters, at most {MAX_REQUEST_ID} allowed")
    if not _PHONE.fullmatch(request.phone):
        raise ValidationError("phone", "must be 8 to 15 digits with the country code and no '+', e.g. 84968501615")
    if request.content is None:
        field = request.channel.value.lower()
        raise ValidationError(field, f"must be set for channel {request.channel.value}")


def _sms(request: SendRequest, settings: Settings) -> None:
    assert isinstance(request.sms, SmsMessage)
    sms = request.sms
    validate_sms_content(sms)
    validate_sender(sms.sender or settings.smpp.default_sender)
    if sms.route is Route.SMPP and not settings.smpp.configured:
        raise ValidationError(
            "sms.route", "SMPP was asked for, but this connector has no SMPP account (smpp.system_id is empty)"
        )


def _voice_otp(request: SendRequest, settings: Settings) -> None:
    assert isinstance(request.voice_otp, VoiceOtp)
    validate_voice_otp(request.voice_otp, settings.rest.voice_languages)


def _voice_file(request: SendRequest, _settings: Settings) -> None:
    assert isinstance(request.voice_file, VoiceFile)
    validate_voice_file(request.voice_file)


def _viber(request: SendRequest, _settings: Settings) -> None:
    assert isinstance(request.viber, ViberMessage)
    validate_viber(request.viber)


_CHANNEL_RULES: dict[Channel, Callable[[SendRequest, Settings], None]] = {
    Channel.SMS: _sms,
    Channel.VOICE_OTP: _voice_otp,
    Channel.VOICE_FILE: _voice_file,
    Channel.VIBER: _viber,
}


def validate_sender(sender: str | None) -> None:
    if sender is None:
        return
    if not (_NUMERIC_SENDER.fullmatch(sender) or _ALPHANUMERIC_SENDER.fullmatch(sender)):
        raise ValidationError(
            "sms.sender", "must be 1 to 11 letters, digits or ' .-_&', or a number of at most 15 digits"
        )


def validate_sms_content(sms: SmsMessage) -> None:
    if not sms.content:
        raise ValidationError("sms.content", "must not be empty")
    if sms.unicode is False:
        outside = first_outside_gsm(sms.content)
        if outside is not None:
            raise ValidationError(
                "sms.content",
                f"unicode is false but {outside!r} (U+{ord(outside):04X}) is not in the GSM 03.38 alphabet",
            )


def validate_url(field: str, value: str) -> None:
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c.isspace() for c in value):
        raise ValidationError(field, "must be an absolute http(s) URL")


def validate_viber(viber: ViberMessage) -> None:
    if not viber.sender.strip():
        raise ValidationError("viber.sender", "must not be empty")
    text = viber.text
    if text is not None and not text.strip():
        raise ValidationError("viber.text", "must not be blank when set")
    if text is not None and len(text) > MAX_VIBER_TEXT:
        raise ValidationError("viber.text", f"is {len(text)} characters, at most {MAX_VIBER_TEXT} allowed")
    if viber.image_url is not None:
        validate_url("viber.image_url", viber.image_url)
    if viber.button is not None:
        caption = viber.button.caption
        if not caption.strip() or len(caption) > MAX_BUTTON_CAPTION:
            raise ValidationError("viber.button.caption", f"must be 1 to {MAX_BUTTON_CAPTION} characters")
        validate_url("viber.button.action", viber.button.action)
    if viber_body_type(viber) is None:
        raise ValidationError(
            "viber", "must be text, text+button, image, or text+image+button (the seed's body types 1-4)"
        )


def validate_voice_otp(otp: VoiceOtp, languages: list[str]) -> None:
    if not _OTP.fullmatch(otp.code):
        raise ValidationError("voice_otp.code", "must be 1 to 10 digits")
    if otp.lang not in languages:
        raise ValidationError("voice_otp.lang", f"must be one of {', '.join(languages)}")


def validate_voice_file(voice_file: VoiceFile) -> None:
    if not voice_file.template_id.strip():
        raise ValidationError("voice_file.template_id", "must not be empty")
