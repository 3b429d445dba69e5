"""The REST client against the simulator's real HTTP server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.cli import main
from connector.records import ResultStatus
from connector.rest.client import RestClient, RestEndpoint, RestOutcome, RestPolicy
from connector.rest.codes import Api
from connector.simulator import RestSimulatorSettings, SimulatorThread
from connector.simulator.accounts import DEMO_API_KEY, DEMO_SECRET_KEY

PATHS = {
    Api.SMS: "/v1/sms/send",
    Api.VOICE: "/v1/voice/call",
    Api.UPLOAD: "/v1/voice/upload",
    Api.CHAT: "/v1/chatapps/send",
}
SMS = {"phone": "84968501615", "content": "hello", "isUnicode": "0", "RequestId": "req-1"}


def call(
    url: str,
    api: Api,
    payload: dict[str, object],
    *,
    secret: str = DEMO_SECRET_KEY,
    read_timeout: float = 5.0,
    attempts: int = 4,
) -> RestOutcome:
    async def run() -> RestOutcome:
        client = RestClient.create(
            RestEndpoint(url, PATHS, DEMO_API_KEY, secret),
            RestPolicy(max_attempts=attempts, backoff_base=0.05),
            read_timeout=read_timeout,
        )
        try:
            return await client.call(api, payload, time.monotonic() + 30)
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.fixture
def rest_simulator(simulator_factory: Callable[..., SimulatorThread]) -> SimulatorThread:
    return simulator_factory(rest=RestSimulatorSettings())


def test_sms_accepted_with_the_seed_shapes(rest_simulator: SimulatorThread) -> None:
    outcome = call(rest_simulator.rest_url, Api.SMS, {**SMS, "originalSender": "VIHAT"})
    assert outcome.status is ResultStatus.ACCEPTED and outcome.code == "100" and outcome.message_id
    assert outcome.attempts == 1
    [body] = rest_simulator.rest.stats.requests  # type: ignore[union-attr]
    assert body["RequestId"] == "req-1" and body["originalSender"] == "VIHAT"


@pytest.mark.parametrize(
    "failure",
    [
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 429},
        {"kind": "delay", "seconds": 1.5},
        {"kind": "drop"},
    ],
)
def test_failures_are_retried_without_a_duplicate_send(
    rest_simulator: SimulatorThread, failure: dict[str, object]
) -> None:
    rest = rest_simulator.rest
    assert rest is not None
    kind = str(failure.pop("kind"))
    rest_simulator.call(lambda: rest.inject(kind, 2, **failure))  # type: ignore[arg-type]
    outcome = call(rest_simulator.rest_url, Api.SMS, SMS, read_timeout=0.5)
    assert outcome.status is ResultStatus.ACCEPTED and outcome.attempts == 3
    assert rest.stats.sent["sms"] == 1  # the provider sent it once; the retries were answered from memory


def test_retries_stop_at_max_attempts(rest_simulator: SimulatorThread) -> None:
    rest = rest_simulator.rest
    assert rest is not None
    rest_simulator.call(lambda: rest.inject("status", 5, status=502))
    outcome = call(rest_simulator.rest_url, Api.SMS, SMS, attempts=3)
    assert outcome.status is ResultStatus.FAILED and outcome.meaning.name == "HTTP_502" and outcome.attempts == 3


def test_wrong_credentials_are_rejected_once_and_secrets_never_logged(
    rest_simulator: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcome = call(rest_simulator.rest_url, Api.CHAT, {"phone_number": "84968501615"}, secret="wrong-secret-value")
    assert outcome.status is ResultStatus.REJECTED and outcome.code == "101" and outcome.attempts == 1
    assert "wrong-secret-value" not in caplog.text and DEMO_SECRET_KEY not in caplog.text
    assert DEMO_SECRET_KEY not in repr(RestEndpoint("http://x", PATHS, DEMO_API_KEY, DEMO_SECRET_KEY))


def test_blocked_account_and_exhausted_balance(simulator_factory: Callable[..., SimulatorThread]) -> None:
    simulator = simulator_factory(rest=RestSimulatorSettings(balance=3))
    long_ucs2 = {**SMS, "content": "ă" * 100, "isUnicode": "1"}  # 2 parts
    first = call(simulator.rest_url, Api.SMS, {**long_ucs2, "RequestId": "a"})
    second = call(simulator.rest_url, Api.SMS, {**long_ucs2, "RequestId": "b"})
    assert first.status is ResultStatus.ACCEPTED
    assert second.status is ResultStatus.REJECTED and second.code == "103"
    rest = simulator.rest
    assert rest is not None
    simulator.call(lambda: rest.settings.blocked.add(DEMO_API_KEY))
    assert (
        call(
            simulator.rest_url, Api.VOICE, {"phone_number": "84968501615", "type": 1, "code": "1234", "lang": "en"}
        ).code
        == "103"
    )


def test_upload_voice_cli(
    rest_simulator: SimulatorThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIHAT_REST__BASE_URL", rest_simulator.rest_url)
    monkeypatch.setenv("VIHAT_REST__API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("VIHAT_REST__SECRET_KEY", DEMO_SECRET_KEY)
    recording = tmp_path / "greeting.mp3"
    recording.write_bytes(b"ID3" + b"\x00" * 1000)
    assert main(["upload-voice", str(recording)]) == 0
    template_id = capsys.readouterr().out.strip()
    assert len(template_id) > 10
    wav = tmp_path / "greeting.wav"
    wav.write_bytes(b"RIFF")
    assert main(["upload-voice", str(wav)]) == 2
    assert "mp3" in capsys.readouterr().err
    monkeypatch.setenv("VIHAT_REST__SECRET_KEY", "not-the-secret")
    assert main(["upload-voice", str(recording)]) == 1
    assert "upload refused with 101" in capsys.readouterr().err


@pytest.mark.parametrize("retry_after", ["0.05", "²", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_retry_after_that_is_not_a_number_of_seconds_is_ignored_not_fatal(
    rest_simulator: SimulatorThread, retry_after: str
) -> None:
    rest = rest_simulator.rest
    assert rest is not None
    rest_simulator.call(lambda: rest.inject("status", 1, status=429, retry_after=retry_after))
    outcome = call(rest_simulator.rest_url, Api.SMS, SMS)
    assert outcome.status is ResultStatus.ACCEPTED and outcome.attempts == 2
