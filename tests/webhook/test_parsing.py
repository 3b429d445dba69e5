from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.webhook.parsing import (
    CallbackError,
    chat_status_report,
    inbound_reply,
    parse_provider_time,
    parse_zone,
    sms_status_report,
)

SEED_SMS = {
    "phone": "84968501615",
    "reference_id": "28d49817-f373-4dfa-886a-2cb1f79aa81c415",
    "status": "DELIVRD",
    "err_code": "000",
    "delivery_time": "12/3/2021 11:41:58 AM",
    "total_price": "0.0500000",
    "currency": "EUR",
    "time_zone": "GMT/UTC +7:00",
}
SEED_CHAT = {
    "status": "SEEN",
    "message_id": "fa77f63d-4eb8-47d0-81c2-0cf436c83b46281",
    "time": "2021-12-15T13:55:03.953",
    "phone_number": "84968501615",
    "channel": "Viber",
    "time_zone": "GMT/UTC +7",
}
SEED_REPLY = {
    "message": {"text": None, "media": "", "file_name": "VID_20201227_121221.mp4"},
    "message_id": "204c7ca1-0e7a-460f-bc1f-e2b9b95bfbd2596",
    "time": "2021-12-15T09:12:53",
    "phone_number": "+84986788704",
    "channel": "Viber",
    "time_zone": "GMT/UTC +7",
}


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_seed_sms_callback() -> None:
    report = sms_status_report(SEED_SMS, 0.0)
    assert report["status"] == "DELIVERED" and report["raw_status"] == "DELIVRD" and report["source"] == "SMS_CALLBACK"
    assert (report["price"], report["currency"], report["error_code"]) == ("0.0500000", "EUR", "000")
    assert report["event_time"] == millis(datetime(2021, 12, 3, 4, 41, 58, tzinfo=UTC))


def test_seed_chat_callback() -> None:
    report = chat_status_report(SEED_CHAT, 0.0)
    assert report["status"] == "SEEN" and report["source"] == "CHAT_CALLBACK" and report["channel"] == "VIBER"
    assert report["event_time"] == millis(datetime(2021, 12, 15, 6, 55, 3, 953000, tzinfo=UTC))


def test_seed_reply() -> None:
    reply = inbound_reply(SEED_REPLY, 0.0)
    assert reply["phone"] == "84986788704" and reply["file_name"] == "VID_20201227_121221.mp4"
    assert reply["text"] is None and reply["media_url"] is None


def test_numbers_instead_of_strings_and_extra_fields() -> None:
    report = sms_status_report({**SEED_SMS, "reference_id": 12345, "total_price": 0.05, "err_code": 0, "x": [1]}, 0)
    assert (report["provider_message_id"], report["price"], report["error_code"]) == ("12345", "0.05", "0")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reference_id": None}, "reference_id"),
        ({"status": ""}, "status"),
        ({"status": True}, "status"),
        ({"status": {"a": 1}}, "status"),
    ],
)
def test_missing_or_mistyped_fields_are_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(CallbackError) as error:
        sms_status_report({**SEED_SMS, **change}, 0.0)
    assert error.value.field == field


def test_reply_without_message_object() -> None:
    with pytest.raises(CallbackError, match="message"):
        inbound_reply({**SEED_REPLY, "message": "hi"}, 0.0)


@pytest.mark.parametrize(
    ("text", "offset"),
    [("GMT/UTC +7:00", 7 * 60), ("GMT/UTC +7", 7 * 60), ("UTC-03:30", -210), ("+0530", 330), ("", 0), ("nonsense", 0)],
)
def test_zones(text: str, offset: int) -> None:
    assert parse_zone(text).utcoffset(None) == timedelta(minutes=offset)


def test_unreadable_time_is_dropped_not_fatal() -> None:
    assert parse_provider_time("yesterday", UTC) is None
    assert sms_status_report({**SEED_SMS, "delivery_time": "31/31/2021"}, 0.0)["event_time"] is None
