from __future__ import annotations

from pathlib import Path

import pytest

from connector.cli import main
from connector.config import load_settings
from connector.errors import ConfigError
from connector.kafka.consumer import consumer_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.yaml"
    path.write_text(text)
    return path


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIHAT_SMPP__BINDS", "7")
    settings = load_settings(write(tmp_path, "smpp:\n  binds: 2\n  port: 7888\n"))
    assert (settings.smpp.binds, settings.smpp.port) == (7, 7888)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("smpp:\n  bindz: 2\n", "smpp.bindz"),
        ("smpp:\n  binds: -1\n", "smpp.binds"),
        ("webhook:\n  allowed_networks: [10.0.0.0/33]\n", "webhook.allowed_networks"),
        ("roles: [dispatcher, mailer]\n", "roles"),
    ],
)
def test_invalid_keys_are_named(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_settings(write(tmp_path, text))


def test_secrets_from_mounted_files_and_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "smpp-password"
    secret.write_text("pa55word\n")
    monkeypatch.setenv("VIHAT_SMPP_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("VIHAT_REST__SECRET_KEY", "rest-secret-value")
    config = write(tmp_path, "smpp:\n  binds: 2\n")
    assert load_settings(config).smpp.password.get_secret_value() == "pa55word"
    assert main(["check-config", "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "pa55word" not in printed and "rest-secret-value" not in printed and "**********" in printed


def test_check_config_exits_non_zero_on_an_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(write(tmp_path, "kafka:\n  nope: 1\n"))]) == 2
    assert "kafka.nope" in capsys.readouterr().err
    assert main(["check-config", "--config", str(tmp_path / "missing.yaml")]) == 2


def test_unreadable_secret_file_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIHAT_WEBHOOK_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=r"webhook\.token"):
        load_settings()


def test_what_the_dispatcher_holds_follows_the_configured_rates() -> None:
    from connector.config import Settings
    from connector.dispatcher import drain_capacity

    slow = Settings(smpp={"binds": 2, "rate_per_bind": 30, "window": 10}, dispatcher={"buffer_seconds": 3})
    assert drain_capacity(slow, smpp=True, rest=False) == 3 * 60 + 2 * 10
    assert drain_capacity(slow, smpp=True, rest=True) == 3 * (60 + 50) + 2 * 10  # REST at 50/s by default
    assert drain_capacity(slow, smpp=False, rest=True) == 150
    unlimited = Settings(smpp={"rate_per_bind": 0}, dispatcher={"max_in_flight": 700})
    assert drain_capacity(unlimited, smpp=True, rest=True) == 700
    fast = Settings(smpp={"binds": 64, "rate_per_bind": 500}, dispatcher={"max_in_flight": 2000})
    assert drain_capacity(fast, smpp=True, rest=False) == 2000  # never above max_in_flight


def test_correlator_consumers_fetch_in_batches_unless_the_operator_says_otherwise(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "kafka:\n  consumer:\n    fetch.wait.max.ms: '20'\n"))
    batched = consumer_config(settings.kafka, "g", **settings.correlator.fetch_settings())
    assert (batched["fetch.min.bytes"], batched["fetch.wait.max.ms"]) == (65_536, "20")  # the operator's wins
    immediate = load_settings(write(tmp_path, "correlator:\n  fetch_wait_ms: 0\n")).correlator.fetch_settings()
    assert "fetch.min.bytes" not in consumer_config(settings.kafka, "g", **immediate)
