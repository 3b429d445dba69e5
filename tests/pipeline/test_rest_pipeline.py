"""Every REST channel end to end through Kafka and the simulator's real HTTP server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connector.config import Topics
from connector.devstack.kafka_broker import free_port
from connector.devstack.stack import ConnectorThread, TopicReader, channel_request, produce_requests, sms_request
from connector.schemas import SchemaName
from connector.simulator import RestSimulatorSettings, SimulatorThread

pytestmark = pytest.mark.integration

BUTTON = {"caption": "Track", "action": "https://example.com/t/1"}


def request(request_id: str, channel: str, **content: Any) -> dict[str, Any]:
    return channel_request(request_id, "84968501615", channel, **content)


def viber(request_id: str, **fields: Any) -> dict[str, Any]:
    return channel_request(request_id, "84968501615", "VIBER", viber={"sender": "Shop", **fields})


def results_for(bootstrap: str, topics: Topics, count: int) -> dict[str, dict[str, Any]]:
    reader = TopicReader(bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    records = reader.read_until(count, timeout=60)
    reader.close()
    assert len(records) == count, f"{len(records)} results for {count} requests"
    counts = Counter(r["request_id"] for r in records)
    assert max(counts.values()) == 1, "a request got more than one result"
    return {r["request_id"]: r for r in records}


def test_every_rest_channel_through_kafka(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(rest=RestSimulatorSettings())
    connector_factory(simulator.port, rest={"base_url": simulator.rest_url})
    requests = [
        sms_request("sms-rest", "84968501615", "Xin chào Việt Nam", route="REST", sender="VIHAT"),
        request("otp", "VOICE_OTP", voice_otp={"code": "4567", "lang": "en"}),
        request("file", "VOICE_FILE", voice_file={"template_id": "b7856e7a687347bf"}),
        viber("viber-1", text="hi", image_url="https://example.com/i.png", button=BUTTON),
        viber("viber-2", text="hi", button=BUTTON),
        viber("viber-3", image_url="https://example.com/i.png"),
        viber("viber-4", text="hi"),
        viber("viber-long", text="x" * 1001),
        viber("viber-caption", text="hi", button={**BUTTON, "caption": "c" * 31}),
        request("otp-lang", "VOICE_OTP", voice_otp={"code": "4567", "lang": "fr"}),
        request("otp-letters", "VOICE_OTP", voice_otp={"code": "45a7", "lang": "en"}),
        {**request("voice-999", "VOICE_OTP", voice_otp={"code": "1", "lang": "kh"}), "phone": "99912345678"},
    ]
    produce_requests(kafka_bootstrap, topics.send_requests, requests)
    got = results_for(kafka_bootstrap, topics, len(requests))

    accepted = ["sms-rest", "otp", "file", "viber-1", "viber-2", "viber-3", "viber-4"]
    assert all(got[r]["status"] == "ACCEPTED" and got[r]["route"] == "REST" for r in accepted)
    assert all(len(got[r]["provider_message_ids"]) == 1 for r in accepted)
    assert got["viber-long"]["description"].startswith("viber.text")
    assert got["viber-caption"]["description"].startswith("viber.button.caption")
    assert got["otp-lang"]["description"].startswith("voice_otp.lang")
    assert got["otp-letters"]["description"].startswith("voice_otp.code")
    assert got["voice-999"]["status"] == "REJECTED" and got["voice-999"]["provider_code"] == "106"

    rest = simulator.rest
    assert rest is not None
    assert rest.stats.sent == Counter({"sms": 1, "voice": 2, "chat": 4})  # nothing invalid reached the API
    bodies = {body.get("RequestId") or body.get("request_id"): body for body in rest.stats.requests}
    assert bodies["sms-rest"]["isUnicode"] == "1" and bodies["sms-rest"]["originalSender"] == "VIHAT"
    assert bodies["otp"]["type"] == 1 and bodies["otp"]["code"] == "4567"
    assert bodies["file"]["type"] == 2 and bodies["file"]["template_id"] == "b7856e7a687347bf"
    assert [bodies[f"viber-{n}"]["body"]["body_type"] for n in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert bodies["viber-2"]["body"]["buttons"] == [BUTTON] and bodies["viber-1"]["channel_type"] == 16


def test_injected_5xx_and_timeouts_are_retried_without_duplicate_sends(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(rest=RestSimulatorSettings())
    rest = simulator.rest
    assert rest is not None

    def inject() -> None:
        rest.inject("status", 3, status=503)
        rest.inject("delay", 3, seconds=1.0)
        rest.inject("drop", 3)

    simulator.call(inject)
    connector_factory(
        simulator.port,
        rest={"base_url": simulator.rest_url, "read_timeout": 0.5, "max_attempts": 6, "rate_per_endpoint": 0},
    )
    count = 30
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [request(f"otp-{i}", "VOICE_OTP", voice_otp={"code": f"{i:04d}", "lang": "en"}) for i in range(count)],
    )
    got = results_for(kafka_bootstrap, topics, count)
    assert Counter(r["status"] for r in got.values()) == {"ACCEPTED": count}
    assert rest.stats.injected == 9 and sum(r["attempts"] for r in got.values()) >= count + 9
    assert rest.stats.sent["voice"] == count  # every call sent once, retries answered from the first send
    print(
        f"{count} requests, 9 injected failures, {rest.stats.replayed} replayed answers, "
        f"{rest.stats.sent['voice']} calls placed"
    )


def test_auto_sms_falls_back_to_rest_while_every_bind_is_down(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    simulator = simulator_factory(rest=RestSimulatorSettings())
    dead_smsc = free_port()  # nothing listens: every bind fails
    connector_factory(dead_smsc, rest={"base_url": simulator.rest_url}, dispatcher={"no_bind_timeout": 1.0})
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [
            sms_request("auto", "84968501615", "hello"),
            sms_request("smpp-only", "84968501615", "hello", route="SMPP"),
        ],
    )
    got = results_for(kafka_bootstrap, topics, 2)
    assert (got["auto"]["status"], got["auto"]["route"]) == ("ACCEPTED", "REST")
    assert (got["smpp-only"]["status"], got["smpp-only"]["route"]) == ("FAILED", "SMPP")
    assert "no SMPP bind" in got["smpp-only"]["description"]


def test_a_rest_only_account_runs_without_smpp(
    kafka_bootstrap: str,
    topics: Topics,
    simulator_factory: Callable[..., SimulatorThread],
    connector_factory: Callable[..., ConnectorThread],
) -> None:
    """No SMPP access: system_id empty. AUTO SMS go over REST, a forced SMPP route is refused by name,
    voice and Viber work, and readiness follows the REST side."""
    simulator = simulator_factory(rest=RestSimulatorSettings())
    connector = connector_factory(2775, smpp={"system_id": "", "password": ""}, rest={"base_url": simulator.rest_url})
    assert connector.connector.pool is None
    requests = [
        sms_request("auto", "84968501615", "Xin chào"),
        sms_request("forced-smpp", "84968501615", "hello", route="SMPP"),
        request("otp", "VOICE_OTP", voice_otp={"code": "4567", "lang": "en"}),
        viber("viber", text="hi"),
    ]
    produce_requests(kafka_bootstrap, topics.send_requests, requests)
    got = results_for(kafka_bootstrap, topics, len(requests))
    assert {r: (got[r]["status"], got[r]["route"]) for r in ("auto", "otp", "viber")} == {
        "auto": ("ACCEPTED", "REST"),
        "otp": ("ACCEPTED", "REST"),
        "viber": ("ACCEPTED", "REST"),
    }
    assert got["forced-smpp"]["status"] == "REJECTED"
    assert "smpp.system_id is empty" in got["forced-smpp"]["description"]
    server = connector.connector.http_server
    assert server is not None
    assert httpx.get(f"http://127.0.0.1:{server.port}/readyz").json() == {"status": "ready"}
    simulator.stop()  # the REST API goes away: the next call fails and readiness says so
    produce_requests(kafka_bootstrap, topics.send_requests, [sms_request("after", "84968501615", "x")])
    reader = TopicReader(kafka_bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    after = [r for r in reader.read_until(len(requests) + 1, timeout=60) if r["request_id"] == "after"]
    reader.close()
    assert [r["status"] for r in after] == ["FAILED"]
    not_ready = httpx.get(f"http://127.0.0.1:{server.port}/readyz")
    assert not_ready.status_code == 503 and "REST only" in not_ready.text
