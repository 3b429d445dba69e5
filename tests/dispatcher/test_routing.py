"""The router with its injectable transports: the bind pool on the simulator's real SMPP socket and the
REST client on `httpx.MockTransport`. No Kafka involved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connector.config import Settings
from connector.devstack.kafka_broker import free_port
from connector.devstack.stack import channel_request, sms_request
from connector.dispatcher.routing import Router, SendOutcome
from connector.errors import ValidationError
from connector.ratelimit import RateLimit
from connector.records import ResultStatus
from connector.requests import Route, SendRequest
from connector.rest.client import RestClient, RestEndpoint, RestPolicy
from connector.rest.codes import Api
from connector.simulator import SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from connector.smpp.pool import BindPool, PoolSettings, RetryPolicy
from connector.smpp.session import Endpoint, Timeouts

PATHS = {Api.SMS: "/sms", Api.VOICE: "/voice", Api.UPLOAD: "/upload", Api.CHAT: "/chat"}
SETTINGS = Settings(
    smpp={"system_id": DEMO_SYSTEM_ID, "password": DEMO_PASSWORD, "default_sender": "VIHAT"},
    rest={"api_key": "k" * 30, "secret_key": "s" * 30, "sms_fallback_to_rest": True},
    dispatcher={"max_sms_parts": 3},
)


def route(
    request: dict[str, Any], smsc_port: int, bind_wait: float = 5.0
) -> tuple[SendOutcome, list[tuple[int, int, str]], list[tuple[str, dict[str, Any]]]]:
    """Send `request` through a router with two binds on `smsc_port` and a REST API that accepts all."""
    calls: list[tuple[str, dict[str, Any]]] = []
    remembered: list[tuple[int, int, str]] = []

    def provider(http_request: httpx.Request) -> httpx.Response:
        calls.append((http_request.url.path, json.loads(http_request.content)))
        if http_request.url.path == "/sms":
            return httpx.Response(200, json={"CodeResult": "100", "SMSID": "REST-1"})
        return httpx.Response(200, json={"code_result": 100, "message_id": "REST-2"})

    async def run() -> SendOutcome:
        pool = BindPool(
            PoolSettings(
                Endpoint("127.0.0.1", smsc_port, DEMO_SYSTEM_ID, DEMO_PASSWORD),
                binds=2,
                rate=RateLimit(0),
                timeouts=Timeouts(connect=0.5, response=2.0),
                reconnect=RetryPolicy(base=0.05, cap=0.2),
            ),
            None,
        )
        endpoint = RestEndpoint("http://provider.test", PATHS, "k" * 30, "s" * 30)
        policy = RestPolicy(max_attempts=2, backoff_base=0.01, rate_per_endpoint=0)
        rest = RestClient.create(endpoint, policy, transport=httpx.MockTransport(provider))
        await pool.start()
        try:
            await pool.wait_bound(bind_wait)
            router = Router(SETTINGS, pool, rest)
            return await router.send(SendRequest.from_record(request), lambda *ids: remembered.append(ids))
        finally:
            await pool.close()
            await rest.close()

    return asyncio.run(run()), remembered, calls


def test_auto_sms_goes_over_smpp_while_a_bind_is_up(simulator_factory: Callable[..., SimulatorThread]) -> None:
    simulator = simulator_factory(throttle_rate=0)
    outcome, remembered, calls = route(sms_request("a", "84968501615", "z" * 200), simulator.port)
    assert outcome.status is ResultStatus.ACCEPTED and outcome.route is Route.SMPP and calls == []
    assert [(n, total) for n, total, _ in remembered] == [(1, 2), (2, 2)]
    assert [i for _, _, i in remembered] == outcome.message_ids  # normalized as the receipts will be


def test_auto_sms_falls_back_to_rest_when_no_bind_is_up() -> None:
    nowhere = free_port()  # nothing listens: no bind comes up
    outcome, remembered, calls = route(sms_request("b", "84968501615", "hi"), nowhere, bind_wait=0.3)
    assert outcome.status is ResultStatus.ACCEPTED and outcome.route is Route.REST
    assert [path for path, _ in calls] == ["/sms"] and calls[0][1]["originalSender"] == "VIHAT"
    assert remembered == [(1, 1, "rest-1")]


def test_the_smpp_part_limit_is_checked_where_the_text_is_encoded(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)
    with pytest.raises(ValidationError, match="max_sms_parts=3") as error:
        route(sms_request("c", "84968501615", "z" * 700), simulator.port)  # 5 parts
    assert error.value.field == "sms.content"
    assert simulator.simulator.stats.messages == []


def test_each_channel_has_its_route_and_payload(simulator_factory: Callable[..., SimulatorThread]) -> None:
    simulator = simulator_factory(throttle_rate=0)
    viber = {"sender": "Shop", "text": "hi", "image_url": None, "button": None}
    requests = {
        "/voice": channel_request("o", "84968501615", "VOICE_OTP", voice_otp={"code": "1234", "lang": "en"}),
        "/chat": channel_request("v", "84968501615", "VIBER", viber=viber),
    }
    for path, request in requests.items():
        outcome, _, calls = route(request, simulator.port)
        assert outcome.route is Route.REST and [p for p, _ in calls] == [path]
    _, _, [(_, chat)] = route(requests["/chat"], simulator.port)
    assert chat["body"] == {"body_type": 4, "text": "hi"} and chat["channel_type"] == 16
