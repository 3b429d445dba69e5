"""Settings: one YAML file, every value overridable by environment (`VIHAT_<SECTION>__<KEY>`, e.g.
`VIHAT_SMPP__PASSWORD`), validated once at start-up; unknown keys are rejected and secrets are
`SecretStr`, so they never print."""

from __future__ import annotations

import enum
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from connector.errors import ConfigError
from connector.kafka.serde import Serialization
from connector.reporting import MessageIdFormat


class LogFormat(enum.Enum):
    TEXT = "text"
    JSON = "json"


class Role(enum.Enum):
    DISPATCHER = "dispatcher"
    WEBHOOK = "webhook"
    CORRELATOR = "correlator"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Topics(_Section):
    send_requests: str = "vihat.send-requests"
    submit_results: str = "vihat.submit-results"
    message_index: str = "vihat.message-index"
    reports_raw: str = "vihat.reports-raw"
    delivery_reports: str = "vihat.delivery-reports"
    inbound_replies: str = "vihat.inbound-replies"
    dead_letter: str = "vihat.dead-letter"
    dispatch_state: str = "vihat.dispatch-state"


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    group_id: str = "vihat-connector"
    serialization: Serialization = Serialization.SINGLE_OBJECT
    schema_registry_url: str | None = None
    topics: Topics = Topics()
    producer: dict[str, str] = Field(default_factory=dict, description="extra librdkafka producer settings")
    consumer: dict[str, str] = Field(default_factory=dict, description="extra librdkafka consumer settings")
    delivery_timeout: float = Field(
        10.0, gt=0, description="seconds to wait for a report's ack before asking the SMSC to retry"
    )
    group_instance_id: str | None = Field(
        None, description="static group membership (the pod name in Kubernetes): a restart rejoins at once"
    )
    create_topics: bool = Field(True, description="create missing topics at start-up; false: missing is an error")
    partitions: int = Field(6, ge=1, description="partitions of topics the connector creates")
    replication_factor: int = Field(-1, ge=-1, description="of topics the connector creates; -1 = broker default")
    startup_timeout: float = Field(30.0, gt=0, description="seconds to reach the cluster at start-up before exiting")

    def membership(self) -> dict[str, str]:
        """Consumer settings that identify this process to its groups."""
        return {"group.instance.id": self.group_instance_id} if self.group_instance_id else {}


class SmppSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(2775, ge=1, le=65535)
    system_id: SecretStr = SecretStr("")
    password: SecretStr = SecretStr("")
    system_type: str = ""
    binds: int = Field(4, ge=0, le=64, description="0, or an empty system_id, runs without SMPP (REST only)")
    bind_type: Literal["transceiver", "transmitter"] = Field(
        "transceiver", description="transmitter binds need receiver_binds for DLRs and replies"
    )
    receiver_binds: int = Field(0, ge=0, le=64)
    rate_per_bind: float = Field(30.0, ge=0, description="submit_sm per second per bind; 0 = unlimited")
    rate_margin: float = Field(
        0.015, ge=0, lt=0.5, description="send this fraction below rate_per_bind, so arrival jitter stays under it"
    )
    rate_slack: bool = Field(
        True,
        description="let a send late by the event loop be followed a little sooner (half the margin), so the "
        "rate is used; false for an SMSC that enforces a minimum spacing between any two submit_sm",
    )
    burst: float = Field(1.0, ge=1)
    window: int = Field(10, ge=1, le=1000)
    response_timeout: float = Field(10.0, gt=0)
    enquire_link_interval: float = Field(15.0, gt=0)
    enquire_link_timeout: float = Field(5.0, gt=0)
    reconnect_base: float = Field(0.5, gt=0)
    reconnect_cap: float = Field(30.0, gt=0)
    max_attempts: int = Field(5, ge=1)
    throttle_pause: float = Field(1.0, gt=0)
    message_id_format: MessageIdFormat = MessageIdFormat.TEXT
    concat_reference_bits: int = 8
    default_sender: str | None = None

    @property
    def configured(self) -> bool:
        """An account without SMPP access leaves system_id empty: the dispatcher then runs REST only."""
        return bool(self.system_id.get_secret_value()) and self.binds > 0

    @field_validator("concat_reference_bits")
    @classmethod
    def _reference_bits(cls, value: int) -> int:
        if value not in (8, 16):
            raise ValueError("must be 8 or 16")
        return value


RestApiName = Literal["sms", "voice", "chat"]


def _default_request_id_fields() -> dict[RestApiName, str]:
    # RequestId is the same company's domestic SMS API's field; the seed names none: configuration.
    return {"sms": "RequestId", "voice": "request_id", "chat": "request_id"}


def _default_idempotent_apis() -> list[RestApiName]:
    return ["sms"]


class RestSettings(_Section):
    """ViHAT's REST APIs. The seed gives no hosts or paths: all of them are configuration."""

    base_url: str = "http://127.0.0.1:8088"
    sms_path: str = "/v1/sms/send"
    voice_path: str = "/v1/voice/call"
    upload_path: str = "/v1/voice/upload"
    chat_path: str = "/v1/chatapps/send"
    api_key: SecretStr = SecretStr("")
    secret_key: SecretStr = SecretStr("")
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(15.0, gt=0)
    max_attempts: int = Field(4, ge=1, le=20)
    backoff_base: float = Field(0.2, gt=0)
    backoff_cap: float = Field(5.0, gt=0)
    rate_per_endpoint: float = Field(50.0, ge=0, description="calls per second per API; 0 = unlimited")
    request_timeout: float = Field(60.0, gt=0, description="seconds a request may spend in retries")
    sms_type: str | None = None
    voice_languages: list[str] = ["en", "kh"]
    sms_fallback_to_rest: bool = Field(True, description="route AUTO SMS over REST while no SMPP bind is up")
    chat_credentials: Literal["snake_case", "camelCase", "both"] = Field(
        "both", description="chat apps: the seed's table says apiKey/secretKey, its sample api_key/secret_key"
    )
    request_id_fields: dict[RestApiName, str] = Field(
        default_factory=_default_request_id_fields,
        description="body field carrying request_id per API; 'off' sends none",
    )
    idempotent_apis: list[RestApiName] = Field(
        default_factory=_default_idempotent_apis,
        description="APIs known to answer a repeated request id from the first call; an ambiguous request on "
        "the others follows dispatcher.ambiguous_policy instead of being resent",
    )

    def request_id_field(self, api: str) -> str | None:
        field = self.request_id_fields.get(api, "off")  # type: ignore[call-overload]
        return None if field in ("", "off") else str(field)

    def resend_is_safe(self, api: str) -> bool:
        """An ambiguous request on `api` may be sent again: the provider recognises its request id."""
        return api in self.idempotent_apis and self.request_id_field(api) is not None


class CorrelatorSettings(_Section):
    store_dir: str | None = Field(None, description="where the SQLite index lives; a temp dir when unset")
    hold_seconds: float = Field(30.0, gt=0, description="how long a report waits for its index entry")
    max_held: int = Field(100_000, ge=1, description="reports held at once before the oldest are released")
    correlation_window: float = Field(
        3 * 86_400.0, gt=0, description="seconds a message id stays correlatable (message-index retention)"
    )
    fetch_wait_ms: int = Field(
        100,
        ge=0,
        le=10_000,
        description="how long the broker may hold a fetch to gather 64 KB of records: fewer, bigger batches "
        "under load, up to this much later for reports when traffic is light; 0 answers at once",
    )

    def fetch_settings(self) -> dict[str, int]:
        """The librdkafka settings of the role's consumers (the operator's `kafka.consumer` still wins)."""
        if self.fetch_wait_ms == 0:
            return {}
        return {"fetch.min.bytes": 65_536, "fetch.wait.max.ms": self.fetch_wait_ms}


class HttpSettings(_Section):
    """The process's one HTTP server: /healthz, /readyz, /metrics, and the callbacks with the webhook role."""

    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)


class WebhookSettings(_Section):
    """The provider's callbacks (DESIGN.md section 7)."""

    sms_status_path: str = "/callbacks/sms-status"
    chat_status_path: str = "/callbacks/chat-status"
    reply_path: str = "/callbacks/replies"
    token: SecretStr = SecretStr("")
    token_header: str = "X-Vihat-Token"
    allowed_networks: list[str] = Field(default_factory=list, description="CIDRs allowed to call; empty = any")
    trusted_proxies: list[str] = Field(default_factory=list, description="CIDRs whose forwarded header is trusted")
    forwarded_header: str = "X-Forwarded-For"
    max_body_bytes: int = Field(64 * 1024, ge=256)
    ack_timeout: float = Field(5.0, gt=0, description="seconds to wait for Kafka before answering 503")
    retry_after: int = Field(5, ge=1)
    dedup_capacity: int = Field(200_000, ge=100)

    @field_validator("allowed_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # raises ValueError naming the bad CIDR
        return value


class DispatcherSettings(_Section):
    max_in_flight: int = Field(2000, ge=1, description="requests in progress before partitions pause, at most")
    buffer_seconds: float = Field(
        3.0, gt=0, description="hold no more requests than the binds and REST limits can send in this long"
    )
    commit_interval: float = Field(1.0, gt=0)
    shutdown_timeout: float = Field(20.0, gt=0)
    no_bind_timeout: float = Field(60.0, gt=0, description="seconds a request waits for a bind before FAILED")
    max_sms_parts: int = Field(10, ge=1, le=255)
    correlation_capacity: int = Field(200_000, ge=1000, description="message ids remembered for DLR correlation")
    summary_interval: float = Field(60.0, gt=0)
    ambiguous_policy: Literal["report-unknown", "resend"] = Field(
        "report-unknown",
        validation_alias=AliasChoices("ambiguous_policy", "ambiguous_smpp_policy"),
        description="a request that may have reached the provider before a crash, with no idempotency key to "
        "resend it safely (SMPP; REST APIs not in rest.idempotent_apis): FAILED/AMBIGUOUS, or resent",
    )
    ambiguous_grace: float = Field(
        20.0, ge=0, description="seconds an ambiguous request waits for the previous owner's DONE (a rebalance)"
    )
    state_dir: str | None = Field(None, description="where the intent log's SQLite cache lives; a temp dir if unset")
    idempotency_window: float = Field(
        7 * 86_400.0, gt=0, description="seconds a finished request_id is remembered (dispatch-state retention)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIHAT_", env_nested_delimiter="__", extra="forbid")

    roles: list[Role] = [Role.DISPATCHER, Role.CORRELATOR]
    kafka: KafkaSettings = KafkaSettings()
    smpp: SmppSettings = SmppSettings()
    rest: RestSettings = RestSettings()
    webhook: WebhookSettings = WebhookSettings()
    http: HttpSettings = HttpSettings()
    correlator: CorrelatorSettings = CorrelatorSettings()
    dispatcher: DispatcherSettings = DispatcherSettings()
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the YAML file, which wins over defaults.
        yaml_file = init_settings.init_kwargs.pop("_yaml_file", None)  # type: ignore[attr-defined]
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, file_secret_settings]
        if yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


SECRET_KEYS = ("smpp.system_id", "smpp.password", "rest.api_key", "rest.secret_key", "webhook.token")


def secrets_from_files(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`VIHAT_SMPP_PASSWORD_FILE=/run/secrets/smpp-password` reads the secret from a mounted file."""
    found: dict[str, dict[str, str]] = {}
    for key in SECRET_KEYS:
        section, name = key.split(".")
        variable = f"VIHAT_{section.upper()}_{name.upper()}_FILE"  # single _: not a settings key
        if variable in environ:
            try:
                value = Path(environ[variable]).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{key}: cannot read {variable}={environ[variable]}: {exc.strerror}") from exc
            found.setdefault(section, {})[name] = value
    return found


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read `path` (YAML), the environment and secret files; raise ConfigError naming every bad key."""
    if path is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    for section, values in secrets_from_files(os.environ).items():
        overrides[section] = {**values, **overrides.get(section, {})}
    try:
        if path is not None:
            return Settings(_yaml_file=path, **overrides)  # type: ignore[call-arg]
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets shown as '**********'."""
    return settings.model_dump(mode="json")
