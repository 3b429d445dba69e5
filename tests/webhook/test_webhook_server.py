"""The webhook server with a real broker: callbacks from the simulator, bad input, duplicates, a burst."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.config import Topics
from connector.devstack.stack import ConnectorThread, TopicReader, channel_request, produce_requests, sms_request
from connector.schemas import SchemaName
from connector.simulator import RestSimulatorSettings, SimulatorThread

pytestmark = pytest.mark.integration

TOKEN = "cb-token-7d1f"
SMS_CALLBACK = {
    "phone": "84968501615",
    "reference_id": "ref-1",
    "status": "DELIVRD",
    "err_code": "000",
    "delivery_time": "12/3/2021 11:41:58 AM",
    "total_price": "0.05",
    "currency": "EUR",
    "time_zone": "GMT/UTC +7:00",
}


def webhook_section(**extra: Any) -> dict[str, Any]:
    return {"token": TOKEN, **extra}


@pytest.fixture
def webhook_only(connector_factory: Callable[..., ConnectorThread]) -> tuple[ConnectorThread, str]:
    connector = connector_factory(1, roles=["webhook"], webhook=webhook_section(max_body_bytes=4096))
    server = connector.connector.http_server
    assert server is not None
    return connector, f"http://127.0.0.1:{server.port}"


def test_callbacks_from_the_simulator_are_correlated(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    rest_settings = RestSimulatorSettings(seen_ratio=1.0, callback_delay=0.3)
    simulator = simulator_factory(rest=rest_settings)
    connector = connector_factory(
        simulator.port,
        roles=["dispatcher", "webhook", "correlator"],
        webhook=webhook_section(),
        rest={"base_url": simulator.rest_url},
    )
    server = connector.connector.http_server
    assert server is not None
    base = f"http://127.0.0.1:{server.port}"
    rest_settings.sms_callback_url = f"{base}/callbacks/sms-status/{TOKEN}"
    rest_settings.chat_callback_url = f"{base}/callbacks/chat-status/{TOKEN}"
    # No reply URL: the provider sends a sender's replies to its one callback URL, the chat-status one.
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [
            sms_request("sms-1", "84968501615", "via REST", route="REST", metadata={"order": "1"}),
            channel_request("viber-1", "84968501616", "VIBER", {"order": "2"}, viber={"text": "hi"}),
        ],
    )
    reports = TopicReader(kafka_bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
    got = reports.read_until(3, timeout=30)  # SMS status, Viber DELIVERED and SEEN
    reports.close()
    assert sorted((r["request_id"], r["source"], r["status"]) for r in got) == [
        ("sms-1", "SMS_CALLBACK", "DELIVERED"),
        ("viber-1", "CHAT_CALLBACK", "DELIVERED"),
        ("viber-1", "CHAT_CALLBACK", "SEEN"),
    ]
    assert {r["request_id"]: r["metadata"] for r in got} == {"sms-1": {"order": "1"}, "viber-1": {"order": "2"}}
    sms = next(r for r in got if r["source"] == "SMS_CALLBACK")
    assert (sms["price"], sms["currency"], sms["raw_status"]) == ("0.0500000", "EUR", "DELIVRD")

    simulator.run(simulator.rest.post_reply("84968501616", "STOP"))  # type: ignore[union-attr]
    replies = TopicReader(kafka_bootstrap, topics.inbound_replies, SchemaName.INBOUND_REPLY)
    [reply] = replies.read_until(1, timeout=20)
    replies.close()
    assert (reply["phone"], reply["text"], reply["channel"]) == ("84968501616", "STOP", "VIBER")
    assert replies.raw[0].key() == b"84968501616"


def test_rejections_name_the_problem(webhook_only: tuple[ConnectorThread, str]) -> None:
    _, base = webhook_only
    url = f"{base}/callbacks/sms-status"
    with httpx.Client() as client:
        assert client.post(url, json=SMS_CALLBACK).status_code == 401
        assert client.post(f"{url}/wrong-token", json=SMS_CALLBACK).status_code == 401
        bad = client.post(f"{url}/{TOKEN}", content=b"{not json", headers={"content-type": "application/json"})
        assert bad.status_code == 400 and bad.json()["field"] == "body"
        missing = client.post(f"{url}/{TOKEN}", json={**SMS_CALLBACK, "reference_id": None})
        assert missing.status_code == 400 and missing.json()["field"] == "reference_id"
        assert client.post(f"{url}/{TOKEN}", content=b"x" * 5000).status_code == 413
        assert client.post(url, json=SMS_CALLBACK, headers={"X-Vihat-Token": TOKEN}).status_code == 200
        assert client.post(f"{url}/{TOKEN}", data={**SMS_CALLBACK, "reference_id": "ref-form"}).status_code == 200
        assert client.get(f"{base}/healthz").status_code == 200
        assert client.get(f"{base}/readyz").json() == {"status": "ready"}
        spec = client.get(f"{base}/openapi.json").json()
        assert set(spec["paths"]) >= {"/callbacks/sms-status", "/callbacks/chat-status", "/callbacks/replies"}
        # Callback POSTs are answered in front of the router; everything else is still the router's.
        assert client.get(f"{url}/{TOKEN}").status_code == 405
        assert client.post(f"{base}/callbacks/unknown/{TOKEN}", json=SMS_CALLBACK).status_code == 404
        assert client.post(f"{url}/{TOKEN}/extra", json=SMS_CALLBACK).status_code == 404


def test_one_viber_callback_url_takes_statuses_and_replies(
    kafka_bootstrap: str, topics: Topics, webhook_only: tuple[ConnectorThread, str]
) -> None:
    _, base = webhook_only
    url = f"{base}/callbacks/chat-status/{TOKEN}"
    status = {"status": "DELIVERED", "message_id": "m-9", "time": "2021-12-15T13:55:03.953",
              "phone_number": "84968501615", "channel": "Viber", "time_zone": "GMT/UTC +7"}  # fmt: skip
    reply = {"message": {"text": "YES", "media": "", "file_name": ""}, "message_id": "r-1",
             "phone_number": "+84968501615", "channel": "Viber", "time": "2021-12-15T13:56:00"}  # fmt: skip
    form_reply = {"message[text]": "NO", "message_id": "r-2", "phone_number": "84968501615"}
    with httpx.Client() as client:
        codes = [
            client.post(url, json=status).status_code,
            client.post(url, json=reply).status_code,
            client.post(url, data=form_reply).status_code,
        ]
        bad = client.post(url, json={"message": "not an object", "message_id": "r-3", "phone_number": "1"})
    assert codes == [200, 200, 200]
    assert bad.status_code == 400 and bad.json()["field"] == "message"
    replies = TopicReader(kafka_bootstrap, topics.inbound_replies, SchemaName.INBOUND_REPLY)
    reports = TopicReader(kafka_bootstrap, topics.reports_raw, SchemaName.DELIVERY_REPORT)
    try:
        got_replies = replies.read_until(2, timeout=20)
        got_reports = reports.read_until(2, timeout=3)  # a second one must not come
    finally:
        replies.close()
        reports.close()
    assert sorted((r["provider_message_id"], r["text"]) for r in got_replies) == [("r-1", "YES"), ("r-2", "NO")]
    assert [(r["provider_message_id"], r["status"]) for r in got_reports] == [("m-9", "DELIVERED")]


def test_source_allow_list(connector_factory: Callable[..., ConnectorThread]) -> None:
    connector = connector_factory(1, roles=["webhook"], webhook=webhook_section(allowed_networks=["10.0.0.0/8"]))
    server = connector.connector.http_server
    assert server is not None
    response = httpx.post(f"http://127.0.0.1:{server.port}/callbacks/sms-status/{TOKEN}", json=SMS_CALLBACK)
    assert response.status_code == 403


def test_repeated_callbacks_give_one_report(
    kafka_bootstrap: str, topics: Topics, webhook_only: tuple[ConnectorThread, str]
) -> None:
    connector, base = webhook_only
    url = f"{base}/callbacks/sms-status/{TOKEN}"
    with httpx.Client() as client:
        codes = [client.post(url, json={**SMS_CALLBACK, "reference_id": "dup"}).status_code for _ in range(3)]
        codes.append(client.post(url, json={**SMS_CALLBACK, "reference_id": "dup", "status": "UNDELIV"}).status_code)
    assert codes == [200, 200, 200, 200]
    reader = TopicReader(kafka_bootstrap, topics.reports_raw, SchemaName.DELIVERY_REPORT)
    records = reader.read_until(3, timeout=5)  # wait a little for a third that must not come
    reader.close()
    assert sorted(r["raw_status"] for r in records) == ["DELIVRD", "UNDELIV"]
    assert connector.connector.webhook is not None and connector.connector.webhook.dedup.absorbed == 2


def test_burst_of_5000_callbacks_lands_exactly_once(
    kafka_bootstrap: str, topics: Topics, webhook_only: tuple[ConnectorThread, str]
) -> None:
    _, base = webhook_only
    url = f"{base}/callbacks/chat-status/{TOKEN}"
    count, clients = 5000, 50

    async def burst() -> Counter[int]:
        codes: Counter[int] = Counter()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def worker() -> None:
            async with httpx.AsyncClient(timeout=30) as client:
                while not queue.empty():
                    i = queue.get_nowait()
                    body = {
                        "status": "DELIVERED",
                        "message_id": f"burst-{i}",
                        "time": "2021-12-15T13:55:03.953",
                        "phone_number": "84968501615",
                        "channel": "Viber",
                        "time_zone": "GMT/UTC +7",
                    }
                    codes[(await client.post(url, json=body)).status_code] += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        return codes

    codes = asyncio.run(burst())
    assert codes == {200: count}
    reader = TopicReader(kafka_bootstrap, topics.reports_raw, SchemaName.DELIVERY_REPORT)
    records = reader.read_until(count, timeout=60)
    reader.close()
    ids = Counter(r["provider_message_id"] for r in records)
    assert len(ids) == count and max(ids.values()) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "phone",
        "reference_id",
        "status",
        "err_code",
        "delivery_time",
        "total_price",
        "currency",
        "time_zone",
        "message_id",
        "time",
        "phone_number",
        "message",
        "x",
    ]
)
bodies = st.one_of(
    st.dictionaries(field_names, json_values, max_size=9).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=bodies,
    path=st.sampled_from(["sms-status", "chat-status", "replies"]),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
)
def test_generated_and_malformed_bodies_never_get_a_5xx(
    webhook_only: tuple[ConnectorThread, str], body: bytes, path: str, content_type: str
) -> None:
    _, base = webhook_only
    response = httpx.post(f"{base}/callbacks/{path}/{TOKEN}", content=body, headers={"content-type": content_type})
    assert response.status_code < 500, response.text
    if response.status_code == 400:
        assert "error" in response.json()
