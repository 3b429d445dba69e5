from __future__ import annotations

import pytest

from connector.devstack.stack import sms_request
from connector.dispatcher.validation import (
    validate_common,
    validate_sender,
    validate_sms_content,
    validate_upload,
    validate_voice_file,
    validate_voice_otp,
    viber_body_type,
)
from connector.errors import ValidationError


def test_valid_request_passes() -> None:
    validate_common(sms_request("r1", "84968501615", "hi"))


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
    request = {**sms_request("r1", "84968501615", "hi"), **change}
    with pytest.raises(ValidationError) as error:
        validate_common(request)
    assert error.value.field == field


@pytest.mark.parametrize("sender", ["VIHAT", "My Shop", "8490", "123456789012345"])
def test_good_senders(sender: str) -> None:
    validate_sender(sender)


@pytest.mark.parametrize("sender", ["", "TwelveChars!", "ABCDEFGHIJKL", "1234567890123456", "Tên"])
def test_bad_senders(sender: str) -> None:
    with pytest.raises(ValidationError, match=r"sms\.sender"):
        validate_sender(sender)


def test_empty_content() -> None:
    with pytest.raises(ValidationError, match=r"sms\.content"):
        validate_sms_content("")


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
    assert viber_body_type(viber(**fields)) == body_type


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
    with pytest.raises(ValidationError) as error:
        viber_body_type(viber(**fields))
    assert error.value.field == field


def test_voice_rules() -> None:
    validate_voice_otp({"code": "4567", "lang": "kh"}, ["en", "kh"])
    with pytest.raises(ValidationError, match=r"voice_otp\.code"):
        validate_voice_otp({"code": "45a7", "lang": "en"}, ["en", "kh"])
    with pytest.raises(ValidationError, match=r"voice_otp\.lang"):
        validate_voice_otp({"code": "4567", "lang": "vi"}, ["en", "kh"])
    with pytest.raises(ValidationError, match=r"voice_file\.template_id"):
        validate_voice_file({"template_id": " "})


def test_upload_rules() -> None:
    validate_upload("a.MP3", 10)
    for name, size in (("a.wav", 10), ("a.mp3", 5 * 1024 * 1024 + 1), ("a.mp3", 0)):
        with pytest.raises(ValidationError, match="file"):
            validate_upload(name, size)
