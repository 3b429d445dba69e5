"""Where the seed is ambiguous, both readings work (issue 10): chat-app credential spellings, the
idempotency field, and "request is processing" when the retries run out. Router and client are driven
through `httpx.MockTransport` (pure unit tests) and the simulator's real HTTP server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connector.config import Settings
from connector.devstack.stack import channel_request, sms_request
from connector.dispatcher.routing import Router, SendOutcome
from connector.dispatcher.validation import validate
from connector.errors import ValidationError
from connector.records import ResultStatus
from connector.requests import Route, SendRequest
from connector.rest.client import RestClient, RestEndpoint, RestPolicy
from connector.rest.codes import Api
from connector.simulator import RestSimulatorSettings, SimulatorThread
from connector.simulator.accounts import DEMO_API_KEY, DEMO_SECRET_KEY

PATHS = {Api.SMS: "/sms", Api.VOICE: "/voice", Api.UPLOAD: "/upload", Api.CHAT: "/chat"}
VIBER = {"sender": "Shop", "text": "hi", "image_url": None, "button": None}


def rest_only_settings(**rest: Any) -> Settings:
    return Settings(rest={"api_key": DEMO_API_KEY, "secret_key": DEMO_SECRET_KEY, "backoff_base": 0.01, **rest})


def route(
    settings: Settings, request: dict[str, Any], answer: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> tuple[SendOutcome, list[dict[str, Any]]]:
    """Send `request` through a REST-only router whose provider answers with `answer(path, body)`."""
    bodies: list[dict[str, Any]] = []

    def handler(http_request: httpx.Request) -> httpx.Response:
        body = json.loads(http_request.content)
        bodies.append(body)
        return httpx.Response(200, json=answer(http_request.url.path, body))

    async def run() -> SendOutcome:
        rest = settings.rest
        endpoint = RestEndpoint(
            "http://provider.test", PATHS, DEMO_API_KEY, DEMO_SECRET_KEY, chat_credentials=rest.chat_credentials
        )
        policy = RestPolicy(max_attempts=3, backoff_base=0.01, rate_per_endpoint=0)
        client = RestClient.create(endpoint, policy, transport=httpx.MockTransport(handler))
        try:
            return await Router(settings, None, client).send(SendRequest.from_record(request), lambda *_: None)
        finally:
            await client.close()

    return asyncio.run(run()), bodies


def accepted(path: str, _body: dict[str, Any]) -> dict[str, Any]:
    if path == "/sms":
        return {"CodeResult": "100", "SMSID": "s-1"}
    return {"code_result": 100, "message_id": "m-1"}


def test_rest_only_account_sends_auto_sms_over_rest_and_refuses_smpp_naming_the_setting() -> None:
    settings = rest_only_settings()
    outcome, bodies = route(settings, sms_request("auto", "84968501615", "hi"), accepted)
    assert outcome.status is ResultStatus.ACCEPTED and outcome.route is Route.REST and len(bodies) == 1
    with pytest.raises(ValidationError) as error:
        validate(SendRequest.from_record(sms_request("forced", "84968501615", "hi", route="SMPP")), settings)
    assert error.value.field == "sms.route" and "smpp.system_id is empty" in str(error.value)


@pytest.mark.parametrize(
    ("spelling", "fields"),
    [
        ("both", {"api_key", "secret_key", "apiKey", "secretKey"}),
        ("snake_case", {"api_key", "secret_key"}),
        ("camelCase", {"apiKey", "secretKey"}),
    ],
)
def test_chat_credentials_go_in_the_configured_spelling(spelling: str, fields: set[str]) -> None:
    request = channel_request("v", "84968501615", "VIBER", viber=VIBER)
    _, [body] = route(rest_only_settings(chat_credentials=spelling), request, accepted)
    assert {key for key in body if "key" in key.lower()} == fields
    assert body["api_key" if "api_key" in fields else "apiKey"] == DEMO_API_KEY


@pytest.mark.parametrize(("field", "expected"), [("RequestId", "RequestId"), ("requestId", "requestId"), ("off", None)])
def test_the_idempotency_field_is_configuration_with_off(field: str, expected: str | None) -> None:
    settings = rest_only_settings(request_id_fields={"sms": field, "voice": "request_id", "chat": "off"})
    _, [body] = route(settings, sms_request("req-7", "84968501615", "hi"), accepted)
    id_fields = {key for key, value in body.items() if value == "req-7"}
    assert id_fields == ({expected} if expected else set())
    _, [chat] = route(settings, channel_request("req-8", "84968501615", "VIBER", viber=VIBER), accepted)
    assert "req-8" not in chat.values()


def test_resend_after_a_crash_only_where_the_provider_is_known_to_honour_the_request_id() -> None:
    def safe(settings: Settings, request: dict[str, Any]) -> bool:
        return Router(settings, None, None).resend_is_safe(SendRequest.from_record(request))

    default = rest_only_settings()
    rest_sms = sms_request("a", "84968501615", "hi", route="REST")
    viber = channel_request("b", "84968501615", "VIBER", viber=VIBER)
    assert safe(default, rest_sms)
    assert not safe(default, sms_request("c", "84968501615", "hi"))  # AUTO: the first try may have been SMPP
    assert not safe(default, sms_request("d", "84968501615", "hi", route="SMPP"))
    assert not safe(default, viber)  # chat apps: request_id not known to work
    assert not safe(rest_only_settings(request_id_fields={"sms": "off"}), rest_sms)
    assert safe(rest_only_settings(idempotent_apis=["sms", "chat"]), viber)


@pytest.mark.parametrize(
    ("request_maker", "code"),
    [
        (lambda: sms_request("p", "84968501615", "hi", route="REST"), "124"),
        (lambda: channel_request("p", "84968501615", "VOICE_OTP", voice_otp={"code": "1234", "lang": "en"}), "105"),
        (lambda: channel_request("p", "84968501615", "VIBER", viber=VIBER), "111"),
    ],
    ids=["sms-124", "voice-105", "chat-111"],
)
def test_processing_until_the_retries_run_out_is_a_distinct_outcome(
    request_maker: Callable[[], dict[str, Any]], code: str
) -> None:
    def processing(path: str, _body: dict[str, Any]) -> dict[str, Any]:
        field = {"/sms": "CodeResult", "/voice": "status_code", "/chat": "code_result"}[path]
        return {field: code}

    outcome, bodies = route(rest_only_settings(), request_maker(), processing)
    assert len(bodies) == 3  # retried, as "processing" is transient
    assert outcome.status is ResultStatus.FAILED and outcome.provider_code == "PROCESSING"
    assert outcome.description is not None and "may still send it; do not resend" in outcome.description
    assert f"code {code}" in outcome.description


@pytest.mark.parametrize("accepted_spelling", [("api_key", "secret_key"), ("apiKey", "secretKey")])
def test_both_chat_spellings_against_a_provider_that_reads_only_one(
    simulator_factory: Callable[..., SimulatorThread], accepted_spelling: tuple[str, str]
) -> None:
    simulator = simulator_factory(rest=RestSimulatorSettings(chat_credentials=(accepted_spelling,)))
    payload = {
        "sender": "Shop",
        "phone_number": "84968501615",
        "channel_type": 16,
        "body": {"body_type": 1, "text": "x"},
    }

    def send(spelling: str) -> str | None:
        async def run() -> str | None:
            endpoint = RestEndpoint(simulator.rest_url, {**PATHS, Api.CHAT: "/v1/chatapps/send"}, DEMO_API_KEY,
                                    DEMO_SECRET_KEY, chat_credentials=spelling)  # fmt: skip
            client = RestClient.create(endpoint, RestPolicy(max_attempts=1))
            try:
                return (await client.call(Api.CHAT, dict(payload), time.monotonic() + 10)).code
            finally:
                await client.close()

        return asyncio.run(run())

    other = "camelCase" if accepted_spelling[0] == "api_key" else "snake_case"
    assert send("both") == "100"
    assert send(other) == "101"  # the narrow reading fails against a provider of the other reading
