from __future__ import annotations

import pytest

from connector.devstack.stack import sms_request
from connector.errors import ValidationError
from connector.validation import validate_common, validate_sender, validate_sms_content


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
