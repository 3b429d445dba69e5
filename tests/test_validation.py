"""One `validate(request, settings)` before anything is written: each failure names the field."""

from __future__ import annotations

from typing import Any

import pytest

from connector.config import Settings
from connector.devstack.stack import channel_request, sms_request
from connector.dispatcher.validation import validate, validate_sender
from connector.errors import ValidationError
from connector.requests import SendRequest, ViberMessage
from connector.rest.payloads import viber_body_type
from connector.upload import validate_upload

SETTINGS = Settings(smpp={"system_id": "DEMO", "password": "secret"})


def typed(record: dict[str, Any]) -> SendRequest:
    return SendRequest.from_record(record)


def rejected_field(record: dict[str, Any], settings: Settings = SETTINGS) -> str:
    with pytest.raises(ValidationError) as error:
        validate(typed(record), settings)
    return error.value.field


def test_valid_request_passes() -> None:
    validate(typed(sms_request("r1", "84968501615", "hi")), SETTINGS)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"request_id": ""}, "request_id"),
        ({"request_id": "x" * 51}, "request_id"),
        ({"phone": "+84968501615"}, "phone"),
        ({"phone": "0968501615a"}, "phone"),
        ({"phone": "1234"}, "phone"),
        ({"phone": "8" * 16}, "phone"),
        ({"sms": None}, "sms"),
    ],
)
def test_invalid_requests_name_the_field(change: dict[str, object], field: str) -> None:
    assert rejected_field({**sms_request("r1", "84968501615", "hi"), **change}) == field


@pytest.mark.parametrize("sender", ["VIHAT", "My Shop", "8490", "123456789012345"])
def test_good_senders(sender: str) -> None:
    validate_sender(sender)


@pytest.mark.parametrize("sender", ["", "TwelveChars!", "ABCDEFGHIJKL", "1234567890123456", "Tên"])
def test_bad_senders(sender: str) -> None:
    with pytest.raises(ValidationError, match=r"sms\.sender"):
        validate_sender(sender)
    if sender:
        assert rejected_field(sms_request("r1", "84968501615", "hi", sender=sender)) == "sms.sender"


def test_sms_content_must_be_there_and_fit_the_coding_asked_for() -> None:
    assert rejected_field(sms_request("r1", "84968501615", "")) == "sms.content"
    assert rejected_field(sms_request("r1", "84968501615", "Tiếng Việt", unicode=False)) == "sms.content"
    validate(typed(sms_request("r1", "84968501615", "Tiếng Việt")), SETTINGS)


def test_a_forced_smpp_route_without_an_smpp_account_names_the_setting() -> None:
    rest_only = Settings(rest={"api_key": "k", "secret_key": "s"})
    request = sms_request("r1", "84968501615", "hi", route="SMPP")
    with pytest.raises(ValidationError, match=r"smpp\.system_id is empty") as error:
        validate(typed(request), rest_only)
    assert error.value.field == "sms.route"
    validate(typed(sms_request("r1", "84968501615", "hi")), rest_only)  # AUTO goes over REST


def viber(**fields: object) -> dict[str, object]:
    return {"sender": "Shop", "text": None, "image_url": None, "button": None, **fields}


BUTTON = {"caption": "Open", "action": "https://example.com/a"}


@pytest.mark.parametrize(
    ("fields", "body_type"),
    [
        ({"text": "hi", "image_url": "https://x.io/i.png", "button": BUTTON}, 1),
        ({"text": "hi", "button": BUTTON}, 2),
        ({"image_url": "https://x.io/i.png"}, 3),
        ({"text": "hi"}, 4),
    ],
)
def test_viber_body_types(fields: dict[str, object], body_type: int) -> None:
    request = typed(channel_request("v", "84968501615", "VIBER", viber=viber(**fields)))
    validate(request, SETTINGS)
    assert isinstance(request.viber, ViberMessage)
    assert viber_body_type(request.viber) == body_type


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "x" * 1001}, "viber.text"),
        ({"text": "hi", "button": {**BUTTON, "caption": "c" * 31}}, "viber.button.caption"),
        ({"image_url": "not a url"}, "viber.image_url"),
        ({"text": "hi", "button": {**BUTTON, "action": "ftp://x"}}, "viber.button.action"),
        ({}, "viber"),
        ({"text": "hi", "image_url": "https://x.io/i.png"}, "viber"),
        ({"sender": " ", "text": "x"}, "viber.sender"),
    ],
)
def test_viber_limits(fields: dict[str, object], field: str) -> None:
    assert rejected_field(channel_request("v", "84968501615", "VIBER", viber=viber(**fields))) == field


def test_voice_rules() -> None:
    def otp(code: str, lang: str) -> dict[str, Any]:
        return channel_request("o", "84968501615", "VOICE_OTP", voice_otp={"code": code, "lang": lang})

    languages = Settings(rest={"voice_languages": ["en", "kh"]})
    validate(typed(otp("4567", "kh")), languages)
    assert rejected_field(otp("45a7", "en"), languages) == "voice_otp.code"
    assert rejected_field(otp("4567", "vi"), languages) == "voice_otp.lang"
    blank = channel_request("f", "84968501615", "VOICE_FILE", voice_file={"template_id": " "})
    assert rejected_field(blank) == "voice_file.template_id"


def test_upload_rules() -> None:
    validate_upload("a.MP3", 10)
    for name, size in (("a.wav", 10), ("a.mp3", 5 * 1024 * 1024 + 1), ("a.mp3", 0)):
        with pytest.raises(ValidationError, match="file"):
            validate_upload(name, size)
