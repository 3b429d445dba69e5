"""SendRequest as the code sees it: built once from the decoded record, immutable and typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.devstack.stack import channel_request, sms_request
from connector.requests import Channel, Route, SendRequest, ViberMessage


def test_an_sms_record_becomes_a_typed_request() -> None:
    record = sms_request(
        "r1", "84968501615", "hi", route="REST", metadata={"order": "7"}, expires_at_ms=1_700_000_000_000
    )
    request = SendRequest.from_record(record)
    assert request.channel is Channel.SMS and request.sms is not None and request.sms.route is Route.REST
    assert request.content is request.sms and request.metadata == {"order": "7"}
    assert request.expires_at == 1_700_000_000.0
    decoded = {**record, "expires_at": datetime.fromtimestamp(1_700_000_000, UTC)}  # as fastavro reads it
    assert SendRequest.from_record(decoded).expires_at == 1_700_000_000.0
    with pytest.raises(AttributeError):  # immutable
        request.phone = "0"  # type: ignore[misc]


def test_a_viber_record_keeps_its_button() -> None:
    viber = {"sender": "Shop", "text": "hi", "image_url": None, "button": {"caption": "Go", "action": "https://x.io"}}
    request = SendRequest.from_record(channel_request("v1", "84968501615", "VIBER", viber=viber))
    assert isinstance(request.content, ViberMessage) and request.content.button is not None
    assert request.content.button.caption == "Go" and request.sms is None


def test_a_symbol_this_version_does_not_know_is_refused_not_guessed() -> None:
    record = sms_request("r1", "84968501615", "hi")
    with pytest.raises(ValueError, match="CARRIER_PIGEON"):
        SendRequest.from_record({**record, "channel": "CARRIER_PIGEON"})
