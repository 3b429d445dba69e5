from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.kafka.serde import SingleObjectSerde
from connector.schemas import SchemaName
from connector.webhook.parsing import (
    CallbackError,
    chat_status_report,
    inbound_reply,
    parse_provider_time,
    parse_zone,
    sms_status_report,
)

REPORTS = SingleObjectSerde(SchemaName.DELIVERY_REPORT)
REPLIES = SingleObjectSerde(SchemaName.INBOUND_REPLY)
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


_ZONE_TEXTS = st.one_of(
    st.just("GMT/UTC +7:00"), st.from_regex(r"\A(GMT/UTC )?[+-]\d{1,2}(:?\d{2})?\Z"), st.text(max_size=12)
)
_TIME_TEXTS = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.datetimes().map(lambda moment: moment.strftime("%m/%d/%Y %I:%M:%S %p")),
    st.builds(lambda moment, zone: moment.isoformat() + zone, st.datetimes(), st.from_regex(r"\A[+-]\d{2}:\d{2}\Z")),
    st.text(max_size=30),
)
_VALUES = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats(), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    parse=st.sampled_from([(sms_status_report, REPORTS), (chat_status_report, REPORTS), (inbound_reply, REPLIES)]),
    time=_TIME_TEXTS,
    zone=_ZONE_TEXTS,
    others=st.dictionaries(
        st.sampled_from(["reference_id", "message_id", "status", "phone", "phone_number", "err_code"]), _VALUES
    ),
)
def test_any_callback_is_a_report_every_reader_can_decode_or_a_callback_error(
    parse: tuple[Callable[[dict[str, Any], float], dict[str, Any]], SingleObjectSerde],
    time: str,
    zone: str,
    others: dict[str, Any],
) -> None:
    """Whatever a provider (or anyone with the token) posts, the webhook answers 400 naming a field, or
    writes a report (or reply) that decodes again: never a 500 that the provider retries forever, never a record
    that a consumer of `delivery-reports` cannot read (a time before year 1 or after 9999 in UTC)."""
    body: dict[str, Any] = {"reference_id": "r1", "message_id": "m1", "status": "DELIVRD", "message": {"text": "hi"}}
    body["phone_number"] = "84968501615"
    body |= {"delivery_time": time, "time": time, "time_zone": zone, **others}
    parse_body, serde = parse
    try:
        record = parse_body(body, 1_700_000_000.0)
    except CallbackError:
        return
    assert serde.decode(serde.encode(record))["provider_message_id"] == record["provider_message_id"]
